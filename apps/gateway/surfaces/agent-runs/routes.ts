/**
 * Serves the agent-runs contract (seed 003, docs/api-contracts.md): the account's agents, their
 * registration, and a flow run on a chosen agent through a temporary Temporal schedule.
 */
import { z } from 'zod';
import type { GatewayDeps } from '../../deps';
import { at, badRequest } from '../../http/errors';
import { defineRoute, type AnyRoute } from '../../http/route';
import { keyValuesSchema } from '../../http/schemas';
import { listAgents, registerAgent, removeAgent, runFlowOnAgent } from './use-cases';
import { agentListSchema, agentListView, agentRunSchema, agentRunView, agentSchema } from './views';

const TAG = 'Agent runs';

/** The contract types `isDelete` as a string; a JSON boolean is what a client would send too. */
const isDeleteSchema = z.union([
  z.boolean(),
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['true', 'false'], { message: 'isDelete must be true or false' }))
    .transform((s) => s === 'true'),
]);

/** Agent names as `--agent NAME` accepts them. */
const agentParams = z.object({ agentId: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, _ . - (at most 100)') });

export const agentRunRoutes = (deps: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/agents',
    tag: TAG,
    summary: "The account's agents, with their workers as Temporal's task-queue pollers show them; online when one polled in the last 2 minutes",
    response: agentListSchema,
    handler: async ({ auth }) => agentListView(await listAgents(deps, auth)),
  }),
  defineRoute({
    method: 'put',
    path: '/api/v1/agents/:agentId',
    tag: TAG,
    summary: 'Register an agent of this account (its worker does this at start, with the account key); answers the task queue it polls',
    params: agentParams,
    response: agentSchema,
    fields: at('path', 'agentId'),
    handler: ({ params, auth }) => registerAgent(deps, auth, params.agentId),
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/agents/:agentId',
    tag: TAG,
    summary: 'Forget an agent of this account',
    params: agentParams,
    response: z.object({}),
    fields: at('path', 'agentId'),
    handler: async ({ params, auth }) => {
      await removeAgent(deps, auth, params.agentId);
      return {};
    },
  }),
  defineRoute({
    method: 'put',
    path: '/api/v4/flows/:flowId/agent/:agentId',
    tag: TAG,
    summary:
      'Run a flow on an agent through a temporary Temporal schedule (`agent-run-<RunId>`): deleted after the run when isDelete is true, otherwise kept paused. Schedule `variables` reach the flow as ${env:KEY}',
    params: z.object({ flowId: z.string().min(1).max(200), agentId: z.string().min(1).max(200) }),
    query: z.object({ isDelete: isDeleteSchema.optional() }),
    body: z.object({ isDelete: isDeleteSchema.optional(), variables: keyValuesSchema.optional() }),
    response: agentRunSchema,
    fields: { flowIds: () => ['path', 'flowId'], ...at('path', 'agentId') },
    handler: async ({ params, query, body, auth }) => {
      if (query.isDelete !== undefined && body.isDelete !== undefined && query.isDelete !== body.isDelete)
        throw badRequest('isDelete differs between the query string and the body', ['query', 'isDelete']);
      const { runId } = await runFlowOnAgent(deps, auth, {
        flowId: params.flowId,
        agentId: params.agentId,
        isDelete: query.isDelete ?? body.isDelete ?? false,
        variables: body.variables ?? {},
      });
      return agentRunView(runId);
    },
  }),
];
