/**
 * Serves the per-flow runs contract (seed 004, docs/api-contracts.md): trigger a flow, list its
 * runs, read one with its steps, and its statistics. `/runs/stats` is declared before `/runs/:runId`.
 */
import { z } from 'zod';
import { flowIdSchema } from '../../../../domain/flow-definition';
import { RUN_STATUSES, upperCaseStatus, type RunStatus } from '../../../../domain/statuses';
import type { RunDeps } from '../../deps';
import { at } from '../../http/errors';
import { idempotencyOf } from '../../http/request';
import { defineRoute, type AnyRoute } from '../../http/route';
import { triggerBatch } from '../../runs/trigger';
import { flowRunStats, getFlowRun, listFlowRuns } from './use-cases';
import { flowRunDetailSchema, flowRunPageSchema, flowRunStatsSchema, triggeredRunSchema, triggeredRunView } from './views';

const TAG = 'Flow runs';
const UPPER_STATUSES = RUN_STATUSES.map(upperCaseStatus);

/** Statuses are spelled in upper case here; any case is accepted, the platform's lower case is used. */
const statusFilter = z
  .string()
  .describe(`one of ${UPPER_STATUSES.join(', ')}, in any case`)
  .transform((s, ctx): RunStatus => {
    const lower = s.toLowerCase() as RunStatus;
    if (RUN_STATUSES.includes(lower)) return lower;
    ctx.addIssue({ code: 'custom', input: s, message: `must be one of ${UPPER_STATUSES.join(', ')}` });
    return z.NEVER;
  });

const flowParams = z.object({ flowId: z.string().min(1) });
const flowFields = at('path', 'flowId');

export const flowRunRoutes = (deps: RunDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/flows/:flowId/runs',
    tag: TAG,
    summary: 'Trigger a manual run of one flow; `data` is readable as trigger.body',
    params: z.object({ flowId: flowIdSchema }),
    body: z.object({ data: z.unknown().optional() }),
    status: 201,
    response: triggeredRunSchema,
    fields: { flowIds: () => ['path', 'flowId'] },
    handler: async ({ params, body, auth, req }) => {
      const batch = await triggerBatch(deps, auth, { flowIds: [params.flowId], data: body.data, idempotency: idempotencyOf(req) });
      return triggeredRunView(batch.runs[0]!);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/flows/:flowId/runs',
    summary: 'Runs of a flow, newest first',
    tag: TAG,
    params: flowParams,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(10),
      cursor: z.string().min(1).optional(),
      status: statusFilter.optional(),
    }),
    response: flowRunPageSchema,
    fields: flowFields,
    handler: ({ params, query, auth }) => listFlowRuns(deps, auth.accountId, params.flowId, query),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/flows/:flowId/runs/stats',
    summary: "Aggregated statistics of a flow's runs, with p50 / p95 durations",
    tag: TAG,
    params: flowParams,
    response: flowRunStatsSchema,
    fields: flowFields,
    handler: ({ params, auth }) => flowRunStats(deps, auth.accountId, params.flowId),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/flows/:flowId/runs/:runId',
    summary: 'One run of a flow with its steps',
    tag: TAG,
    params: z.object({ flowId: z.string().min(1), runId: z.string().min(1) }),
    response: flowRunDetailSchema,
    fields: at('path', 'flowId', 'runId'),
    handler: ({ params, auth }) => getFlowRun(deps, auth.accountId, params.flowId, params.runId),
  }),
];
