/**
 * Seed 002 flow-runs at /api/v1/flow-runs: a thin mapping onto the platform's runs. Validation
 * errors answer 422, as the seed's schema does.
 */
import { z } from 'zod';
import { FLOW_TYPES } from '../../../domain/flow-types';
import { RUN_STATUSES, STEP_STATUSES } from '../../../domain/statuses';
import type { GatewayDeps } from '../deps';
import { HttpError } from '../http/errors';
import { defineRoute, type AnyRoute } from '../http/route';
import { RunReconciler } from '../use-cases/reconcile';
import * as flowRuns from '../use-cases/seed002-flow-runs';

const ID = /^([a-z0-9_.-]+)$/;
const idSchema = z.string().min(1).max(100).regex(ID, 'must match ^([a-z0-9_.-]+)$');
const timestamp = z.iso.datetime({ offset: true }).nullable().optional();
const tagsSchema = z.array(z.object({ key: z.string().min(1).max(200), value: z.string().max(2000) })).max(200);

const DEFAULT_SIZE = 50;
const MAX_SIZE = 100;
const pageSize = z.coerce.number().int().min(1).max(MAX_SIZE);

const listQuery = z.object({
  cursor: z.string().min(1).optional(),
  size: pageSize.optional().describe(`page size, default ${DEFAULT_SIZE}, at most ${MAX_SIZE}`),
  limit: pageSize.optional().describe('the same as size'),
  flowId: idSchema.optional(),
  phase: z.enum(RUN_STATUSES).optional(),
});

const createBody = z.object({
  id: idSchema.optional(),
  flowId: idSchema,
  flowType: z.enum(FLOW_TYPES).optional().describe('accepted for the seed; the run takes its flow\'s type'),
  args: z.unknown().optional(),
  tags: tagsSchema.optional(),
});

const actionInput = z.object({
  id: z.string().min(1).max(200),
  phase: z.enum(STEP_STATUSES),
  startTime: timestamp,
  endTime: timestamp,
  name: z.string().min(1).max(200).optional(),
  type: z.string().min(1).max(100).optional(),
  output: z.unknown().optional(),
  error: z.unknown().optional(),
});

const logInput = z.object({
  timestamp,
  message: z.string(),
  level: z
    .enum(['debug', 'info', 'warn', 'warning', 'error'])
    .default('info')
    .transform((l) => (l === 'warning' ? 'warn' : l)),
  action: z.string().min(1).nullable().optional(),
});

const upsertBody = z.object({
  id: idSchema.optional(),
  flowId: idSchema,
  flowType: z.enum(FLOW_TYPES),
  args: z.unknown().optional(),
  phase: z.enum(RUN_STATUSES).nullable().optional(),
  startTime: timestamp,
  endTime: timestamp,
  actions: z
    .array(actionInput)
    .max(1000)
    .superRefine((actions, ctx) => {
      const seen = new Set<string>();
      actions.forEach((a, i) => {
        if (seen.has(a.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate action id "${a.id}"` });
        seen.add(a.id);
      });
    })
    .optional(),
  outputs: z.unknown().optional(),
  logs: z.array(logInput).max(10_000).optional(),
  tags: tagsSchema.optional(),
});

const iso = z.string().nullable();
const flowRunResponse = z.object({
  id: z.string(),
  flowId: z.string(),
  flowType: z.string(),
  args: z.unknown(),
  phase: z.enum(RUN_STATUSES),
  startTime: iso,
  endTime: iso,
  actions: z.array(
    z.object({
      id: z.string(),
      phase: z.enum(STEP_STATUSES),
      startTime: iso,
      endTime: iso,
      name: z.string(),
      type: z.string(),
      output: z.unknown(),
      error: z.string().nullable(),
    }),
  ),
  outputs: z.unknown(),
  logs: z.array(z.object({ timestamp: iso, message: z.string(), level: z.string(), action: z.string().nullable() })),
  tags: z.array(z.object({ key: z.string(), value: z.string() })),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  updatedAt: z.string(),
  updatedBy: z.string().nullable(),
  reviewedBy: z.string().nullable(),
  reviewedAt: iso,
});

const listResponse = z.object({
  items: z.array(flowRunResponse),
  total: z.number(),
  current_page: z.string(),
  current_page_backwards: z.string(),
  previous_page: z.string().nullable(),
  next_page: z.string().nullable(),
});

const readParams = z.object({ id: z.string().min(1) });
const writeParams = z.object({ id: idSchema });

function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (header.length < 1 || header.length > 255)
    throw new HttpError(422, 'Idempotency-Key must be 1 to 255 characters', [
      { loc: ['header', 'Idempotency-Key'], msg: 'must be 1 to 255 characters', type: 'string_too_long' },
    ]);
  return header;
}

const TAG = 'Flow runs (seed 002)';

/** Seed 002 flow-runs at /api/v1/flow-runs. */
export const seed002Routes = (deps: GatewayDeps): AnyRoute[] => {
  const d: flowRuns.FlowRunDeps = { ...deps, reconciler: new RunReconciler(deps) };
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/flow-runs',
      summary: 'Flow runs of the account, newest first, with cursors both ways (seed 002 Get Flow Runs)',
      tag: TAG,
      query: listQuery,
      response: listResponse,
      validationStatus: 422,
      handler: ({ query, auth }) =>
        flowRuns.listFlowRuns(d, auth.accountId, {
          cursor: query.cursor,
          size: query.size ?? query.limit ?? DEFAULT_SIZE,
          flowId: query.flowId,
          phase: query.phase,
        }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/flow-runs',
      summary: 'Start a flow; args are readable as trigger.body (seed 002 Create Flow Run); honours Idempotency-Key',
      tag: TAG,
      body: createBody,
      response: flowRunResponse,
      validationStatus: 422,
      handler: ({ body, auth, req }) =>
        flowRuns.createFlowRun(d, auth, {
          id: body.id,
          flowId: body.flowId,
          args: body.args,
          tags: body.tags,
          idempotencyKey: idempotencyKey(req.get('Idempotency-Key')),
          fingerprint: { path: req.path, body: req.body },
        }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/flow-runs/:id',
      summary: 'One flow run, live while it runs (seed 002 Get Flow Run)',
      tag: TAG,
      params: readParams,
      response: flowRunResponse,
      validationStatus: 422,
      handler: ({ params, auth }) => flowRuns.getFlowRun(d, auth.accountId, params.id),
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/flow-runs/:id',
      summary:
        'Upsert a flow run: an outside executor reports a run it ran (stored as external); on a run the platform executes only tags change (seed 002 Upsert Flow Run)',
      tag: TAG,
      params: writeParams,
      body: upsertBody,
      response: flowRunResponse,
      validationStatus: 422,
      handler: ({ params, body, auth }) => flowRuns.upsertFlowRun(d, auth, params.id, body),
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/flow-runs/:id',
      summary: 'Delete a flow run, cancelling its Temporal workflow first when it is still running (seed 002 Delete Flow Run); answers {}',
      tag: TAG,
      params: writeParams,
      response: z.object({}),
      validationStatus: 422,
      handler: async ({ params, auth }) => {
        await flowRuns.deleteFlowRun(d, auth.accountId, params.id);
        return {};
      },
    }),
  ];
};
