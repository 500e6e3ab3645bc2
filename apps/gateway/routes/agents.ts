/** Seed 003 agents: GET /api/v1/agents and PUT /api/v4/flows/{flowId}/agent/{agentId}. */
import { z } from 'zod';
import type { GatewayDeps } from '../deps';
import { badRequest } from '../http/errors';
import { defineRoute, type AnyRoute } from '../http/route';
import { listAgents, runFlowOnAgent } from '../use-cases/agents';
import { keyValuesSchema } from '../http/schemas';

/** The seed types `isDelete` as a string; a JSON boolean is what a client would send too. */
const isDeleteSchema = z.union([
  z.boolean(),
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['true', 'false'], { message: 'isDelete must be true or false' }))
    .transform((s) => s === 'true'),
]);


const pollerSchema = z.object({ identity: z.string(), lastAccessTime: z.string() });
const agentSchema = z.object({
  id: z.string(),
  name: z.string(),
  taskQueue: z.string(),
  lastPollTime: z.string().nullable(),
  online: z.boolean(),
  pollers: z.array(pollerSchema),
});

export const agentRoutes = (deps: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/agents',
    tag: 'Agents (seed 003)',
    summary: "Workers started with an agent name, as Temporal's task-queue pollers show them; online when one polled in the last 2 minutes",
    response: z.object({ data: z.array(agentSchema) }),
    handler: async () => ({ data: await listAgents(deps) }),
  }),
  defineRoute({
    method: 'put',
    path: '/api/v4/flows/:flowId/agent/:agentId',
    tag: 'Agents (seed 003)',
    summary:
      'Run a flow on an agent through a temporary Temporal schedule (`agent-run-<RunId>`): deleted after the run when isDelete is true, otherwise kept paused. Schedule `variables` reach the flow as ${env:KEY}',
    params: z.object({ flowId: z.string().min(1).max(200), agentId: z.string().min(1).max(200) }),
    query: z.object({ isDelete: isDeleteSchema.optional() }),
    body: z.object({ isDelete: isDeleteSchema.optional(), variables: keyValuesSchema.optional() }),
    response: z.object({ $id: z.string(), RunId: z.string() }),
    handler: async ({ params, query, body, auth }) => {
      if (query.isDelete !== undefined && body.isDelete !== undefined && query.isDelete !== body.isDelete)
        throw badRequest('isDelete differs between the query string and the body', ['query', 'isDelete']);
      const { runId } = await runFlowOnAgent(deps, auth, {
        flowId: params.flowId,
        agentId: params.agentId,
        isDelete: query.isDelete ?? body.isDelete ?? false,
        variables: body.variables ?? {},
      });
      return { $id: '1', RunId: runId };
    },
  }),
];
