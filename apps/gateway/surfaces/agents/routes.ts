/**
 * Serves the agent-runs contract (seed 003, docs/api-contracts.md): the account's agents, their
 * registration, a flow run on a chosen agent through a temporary Temporal schedule, and the
 * agent's own routes: the next step attempt (a long poll), its heartbeats and its result.
 */
import { z } from 'zod';
import type { GatewayDeps } from '../../deps';
import { at, badRequest, unauthorized } from '../../http/errors';
import { defineRoute, reply, type AnyRoute } from '../../http/route';
import { keyValuesSchema } from '../../http/schemas';
import { listAgents, registerAgent, removeAgent, runFlowOnAgent } from './use-cases';
import { agentListSchema, agentListView, agentRunSchema, agentRunView, agentSchema } from './views';
import { AGENT_LONG_POLL_MS, agentAttemptResultSchema, agentAttemptSchema, agentIdentitySchema, beatAgent, nextAgentAttempt, resultOfAgent } from './attempts';

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

/** Agent names as `npm run agent -- --name NAME` accepts them. */
const agentName = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, _ . - (at most 100)');
const agentParams = z.object({ agentId: agentName });
const attemptParams = z.object({ agentId: agentName, attemptId: z.string().regex(/^[0-9a-f-]{36}$/, 'an attempt id') });
const identityBody = z.object({ identity: agentIdentitySchema.optional() }).optional();
const identityOf = (body: z.infer<typeof identityBody>, agent: string, keyId: string) => body?.identity ?? `agent:${agent}@key:${keyId}`;

export const agentRunRoutes = (deps: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/agents',
    tag: TAG,
    summary:
      "The account's agents: online when one of its processes polled in the last 30 s, when each was last seen (`lastPollTime`, `pollers`), and the step attempts it is running",
    response: agentListSchema,
    handler: async ({ auth }) => agentListView(await listAgents(deps, auth)),
  }),
  defineRoute({
    method: 'put',
    path: '/api/v1/agents/:agentId',
    tag: TAG,
    summary: 'Register an agent of this account (`npm run agent -- --name NAME` does this at start, with a key of the account with the run scope)',
    params: agentParams,
    body: identityBody,
    response: agentSchema,
    fields: at('path', 'agentId'),
    handler: ({ params, body, auth }) => registerAgent(deps, auth, params.agentId, body?.identity),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/agents/:agentId/attempts/next',
    tag: TAG,
    summary: `The agent's next step attempt (a long poll of up to ${AGENT_LONG_POLL_MS / 1000} s, or \`wait\` seconds): 200 with the attempt, claimed for this agent process alone, or 204 when none came. 404 when the agent is not registered`,
    params: agentParams,
    query: z.object({ wait: z.coerce.number().min(0).max(AGENT_LONG_POLL_MS / 1000).optional() }),
    body: identityBody,
    response: agentAttemptSchema,
    fields: at('path', 'agentId'),
    handler: async ({ params, query, body, auth, res }) => {
      const waitMs = query.wait === undefined ? AGENT_LONG_POLL_MS : query.wait * 1000;
      const next = await nextAgentAttempt(deps, auth, params.agentId, identityOf(body, params.agentId, auth.keyId), waitMs, res);
      if (next === 'key-gone') throw unauthorized('API key revoked or expired');
      return next ?? reply(204, undefined);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/agents/:agentId/attempts/:attemptId/heartbeat',
    tag: TAG,
    summary: 'The agent is still running the attempt (send one every second or so; one silent for 6 s has lost it): `cancelled` true means stop now, nobody waits for its result',
    params: attemptParams,
    body: identityBody,
    response: z.object({ cancelled: z.boolean() }),
    fields: at('path', 'agentId', 'attemptId'),
    handler: ({ params, body, auth }) => beatAgent(deps, auth, params.agentId, params.attemptId, identityOf(body, params.agentId, auth.keyId)),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/agents/:agentId/attempts/:attemptId/result',
    tag: TAG,
    summary: "What the attempt did (output, requests, a browser step's files and records); the first result is kept, a later one or one for an attempt that ended is a 409",
    params: attemptParams,
    body: agentAttemptResultSchema,
    response: z.object({}),
    fields: at('path', 'agentId', 'attemptId'),
    handler: async ({ params, body, auth }) => {
      await resultOfAgent(deps, auth, params.agentId, params.attemptId, body);
      return {};
    },
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
