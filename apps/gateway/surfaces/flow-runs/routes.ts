/**
 * Serves the action-runs contract (seed 002, docs/api-contracts.md) at /api/v1/flow-runs: runs
 * started here or reported by an outside executor. Every client mistake answers 422, as the
 * contract's schema does.
 */
import { z } from 'zod';
import { FLOW_TYPES } from '../../../../domain/flow-types';
import { RUN_STATUSES, STEP_STATUSES } from '../../../../domain/statuses';
import type { RunDeps } from '../../deps';
import { at } from '../../http/errors';
import { validationError } from '../../http/validation';
import { idempotencyOf } from '../../http/request';
import { defineRoute, type AnyRoute } from '../../http/route';
import { createActionRun, deleteActionRun, getActionRun, listActionRuns, upsertActionRun } from './use-cases';
import { actionRunPageSchema, actionRunSchema } from './views';

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
  flowType: z.enum(FLOW_TYPES).optional().describe("accepted for compatibility; the run takes its flow's type"),
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

const readParams = z.object({ id: z.string().min(1) });
const writeParams = z.object({ id: idSchema });

const TAG = 'Action runs';
const idFields = { id: ['path', 'id'], runId: ['path', 'id'] };

export const actionRunRoutes = (deps: RunDeps): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/flow-runs',
    summary: 'Flow runs of the account, newest first, with cursors both ways',
    tag: TAG,
    query: listQuery,
    response: actionRunPageSchema,
    validationStatus: 422,
    handler: ({ query, auth }) =>
      listActionRuns(deps, auth.accountId, {
        cursor: query.cursor,
        size: query.size ?? query.limit ?? DEFAULT_SIZE,
        flowId: query.flowId,
        phase: query.phase,
      }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/flow-runs',
    summary: 'Start a flow; args are readable as trigger.body; honours Idempotency-Key',
    tag: TAG,
    body: createBody,
    response: actionRunSchema,
    validationStatus: 422,
    fields: { flowIds: () => ['body', 'flowId'], runIds: ['body', 'id'] },
    handler: ({ body, auth, req }) =>
      createActionRun(deps, auth, { id: body.id, flowId: body.flowId, args: body.args, tags: body.tags, idempotency: idempotencyOf(req, 422) }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/flow-runs/:id',
    summary: 'One flow run, live while it runs',
    tag: TAG,
    params: readParams,
    response: actionRunSchema,
    validationStatus: 422,
    fields: idFields,
    handler: ({ params, auth }) => getActionRun(deps, auth.accountId, params.id),
  }),
  defineRoute({
    method: 'put',
    path: '/api/v1/flow-runs/:id',
    summary:
      'Upsert a flow run: an outside executor reports a run it ran (stored as external); on a run the platform executes only tags change',
    tag: TAG,
    params: writeParams,
    body: upsertBody,
    response: actionRunSchema,
    validationStatus: 422,
    fields: { ...idFields, ...at('body', 'flowId', 'flowType', 'phase') },
    handler: ({ params, body, auth }) => {
      if (body.id !== undefined && body.id !== params.id)
        throw validationError([{ loc: ['body', 'id'], msg: `must equal the id in the path (${params.id})`, type: 'value_error' }], 422);
      return upsertActionRun(deps, auth, params.id, body);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/flow-runs/:id',
    summary: 'Delete a flow run, cancelling its Temporal workflow first when it is still running; answers {}',
    tag: TAG,
    params: writeParams,
    response: z.object({}),
    validationStatus: 422,
    fields: idFields,
    handler: async ({ params, auth }) => {
      await deleteActionRun(deps, auth.accountId, params.id);
      return {};
    },
  }),
];
