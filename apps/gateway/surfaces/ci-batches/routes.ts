/**
 * Serves the CI-batch contract (seed 000, docs/api-contracts.md): trigger a batch, poll it, read
 * a run's results and artifacts; plus the run operations every surface's runs share (cancel,
 * approve). `/runs/status` is declared before the `:runId` routes it would otherwise be taken for.
 */
import { z } from 'zod';
import { MAX_BATCH_RUNS, MAX_MATRIX_KEYS, MAX_MATRIX_VALUE_LENGTH } from '../../../../domain/batch-plan';
import { BROWSERS, normalizeBrowser } from '../../../../domain/browser';
import { notifySchema, secretsSchema } from '../../../../domain/flow-definition';
import { CLIENT_RUN_SOURCES } from '../../../../domain/statuses';
import type { RunDeps } from '../../deps';
import { at, type FieldLocations } from '../../http/errors';
import { idempotencyOf, sendJsonl } from '../../http/request';
import { defineRoute, type AnyRoute } from '../../http/route';
import { keyValuesSchema } from '../../http/schemas';
import { cancelBatch, cancellingSchema, cancelRun } from '../../runs/cancel';
import { batchEvents, runEvents } from '../../runs/events';
import { rerunBatch, rerunRun, rerunSchema, resumeRun, resumeSchema } from '../../runs/rerun';
import type { TriggerRequest } from '../../../../core/batches';
import { triggerBatch } from '../../runs/trigger';
import { batchStatus, decideApproval, logLines, networkLines, performance, runDetail } from './use-cases';
import { batchStatusSchema, decisionSchema, performanceSchema, runDetailSchema, triggeredBatchSchema, triggeredBatchView } from './views';

const TAG = 'CI batches';
const OPERATIONS = 'Run operations';
const DEFAULT_MAX_PARALLEL = 10;

const tagsSchema = z
  .union([
    z.array(z.union([z.string().min(1), z.object({ key: z.string().min(1), value: z.string() })])),
    z.record(z.string(), z.string()),
  ])
  .transform((tags) =>
    Array.isArray(tags)
      ? tags.map((t) => (typeof t === 'string' ? { key: t, value: '' } : t))
      : Object.entries(tags).map(([key, value]) => ({ key, value })),
  );

const browserSchema = z.string().transform((b, ctx) => {
  const browser = normalizeBrowser(b);
  if (!browser) {
    ctx.addIssue({ code: 'custom', message: `unknown browser "${b}"; expected one of ${BROWSERS.join(', ')}` });
    return z.NEVER;
  }
  return browser;
});

const idList = z.array(z.string().min(1).max(100)).max(500);

/** The body of `POST /api/v1/flows/run` (a schedule's `trigger` too). */
export const runFlowsBody = z
  .object({
    app_id: z.string().min(1).optional(),
    bundle_id: z.string().min(1).optional(),
    platform: z.enum(['ios', 'android']).optional(),
    app_build_id: z.string().min(1).optional(),
    suite_ids: idList.optional(),
    flow_ids: idList.optional(),
    resolve_suite_context: z.boolean().default(true),
    suite_overrides: z.record(z.string(), z.string()).optional(),
    env: keyValuesSchema.optional().describe('variables attached to the build being run (app_build_id, else the active build) and read as ${env:KEY}; with save_env false, to this batch only'),
    /** The CI-batch contract: `env` is attached to the build that runs (for later triggers too); false keeps it to this batch. */
    save_env: z.boolean().default(true).describe('default true: env is saved on the build being run; false keeps it to this batch only'),
    /** Names of variables declared secret for this batch: their values show as `***`. */
    secrets: secretsSchema.optional(),
    notify: notifySchema.optional(),
    browser: browserSchema.optional(),
    source: z.enum(CLIENT_RUN_SOURCES).default('api'),
    tags: tagsSchema.optional(),
    max_parallel: z.number().int().min(1).max(100).default(DEFAULT_MAX_PARALLEL),
    data: z.unknown().optional(),
    /** `{ NAME: [values…] }`: every flow runs once per combination, NAME readable as ${env:NAME}; at most 10,000 runs in all. */
    matrix: z
      .record(z.string().min(1).max(100), z.array(z.union([z.string().max(MAX_MATRIX_VALUE_LENGTH), z.number(), z.boolean()])).min(1).max(MAX_BATCH_RUNS))
      .refine((m) => Object.keys(m).length <= MAX_MATRIX_KEYS, `at most ${MAX_MATRIX_KEYS} matrix variables`)
      .optional(),
  })
  .superRefine((b, ctx) => {
    if (!b.app_id && !b.bundle_id)
      ctx.addIssue({ code: 'custom', path: ['app_id'], message: 'app_id is required unless bundle_id and platform are given' });
    if (b.bundle_id && !b.platform)
      ctx.addIssue({ code: 'custom', path: ['platform'], message: 'platform (ios or android) is required with bundle_id' });
    if (!b.suite_ids?.length && !b.flow_ids?.length)
      ctx.addIssue({ code: 'custom', path: ['flow_ids'], message: 'at least one of suite_ids or flow_ids is required' });
  });

/** The trigger a body of `POST /api/v1/flows/run` asks for. */
export function triggerRequestOf(body: z.output<typeof runFlowsBody>): TriggerRequest {
  return {
    suiteIds: body.suite_ids,
    flowIds: body.flow_ids ?? [],
    resolveSuiteContext: body.resolve_suite_context,
    suiteOverrides: body.resolve_suite_context ? body.suite_overrides : undefined,
    appId: body.app_id,
    bundle: body.bundle_id && body.platform ? { bundleId: body.bundle_id, platform: body.platform } : undefined,
    buildId: body.app_build_id,
    env: body.env,
    saveEnv: body.save_env,
    secrets: body.secrets,
    notify: body.notify,
    browser: body.browser,
    source: body.source,
    tags: body.tags,
    maxParallel: body.max_parallel,
    data: body.data,
    matrix: body.matrix,
  };
}

/** Where the trigger's inputs are in this contract's body. */
export const TRIGGER_FIELDS: FieldLocations = {
  suiteIds: ['body', 'suite_ids'],
  flowIds: ['body', 'flow_ids'],
  suiteOverrides: ['body', 'suite_overrides'],
  appId: ['body', 'app_id'],
  bundle: ['body', 'bundle_id'],
  buildId: ['body', 'app_build_id'],
  browser: ['body', 'browser'],
  matrix: ['body', 'matrix'],
};

const runParams = z.object({ runId: z.string().min(1) });
const runFields = at('path', 'runId');

export const ciBatchRoutes = (deps: RunDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/flows/run',
    tag: TAG,
    summary: 'Run flows: start one batch of flow runs; poll it with GET /api/v1/runs/status',
    body: runFlowsBody,
    response: triggeredBatchSchema,
    fields: TRIGGER_FIELDS,
    handler: async ({ body, auth, req }) => {
      const batch = await triggerBatch(deps, auth, { ...triggerRequestOf(body), idempotency: idempotencyOf(req) });
      return triggeredBatchView(batch);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/runs/status',
    summary: 'Status of a batch and its runs; poll until is_complete',
    tag: TAG,
    query: z.object({ batch_id: z.string().min(1) }),
    response: batchStatusSchema,
    fields: { batchId: ['query', 'batch_id'] },
    handler: ({ query, auth }) => batchStatus(deps, auth.accountId, query.batch_id),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/runs/:runId',
    summary: 'Full results of a run: metadata, summary, actions and artifact URLs',
    tag: TAG,
    params: runParams,
    response: runDetailSchema,
    fields: runFields,
    handler: ({ params, auth, baseUrl }) => runDetail(deps, auth.accountId, params.runId, baseUrl),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/runs/:runId/artifacts/log.jsonl',
    summary: 'The run log as JSONL: {timestamp, level, step, message}',
    tag: TAG,
    params: runParams,
    fields: runFields,
    handler: async ({ params, auth, res }) => sendJsonl(res, await logLines(deps, auth.accountId, params.runId)),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/runs/:runId/artifacts/network.jsonl',
    summary: 'HTTP requests of the run as JSONL; a request that got no response has status 0 and an error',
    tag: TAG,
    params: runParams,
    fields: runFields,
    handler: async ({ params, auth, res }) => sendJsonl(res, await networkLines(deps, auth.accountId, params.runId)),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/runs/:runId/artifacts/performance.json',
    summary: 'Step timings and HTTP totals of the run',
    tag: TAG,
    params: runParams,
    response: performanceSchema,
    fields: runFields,
    handler: ({ params, auth }) => performance(deps, auth.accountId, params.runId),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/runs/:runId/cancel',
    summary: 'Cancel a run (its Temporal workflow run-<id>)',
    tag: OPERATIONS,
    params: runParams,
    status: 202,
    response: cancellingSchema,
    fields: runFields,
    handler: ({ params, auth }) => cancelRun(deps, auth.accountId, params.runId),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/batches/:batchId/cancel',
    summary: 'Cancel a batch: its workflow batch-<id>, its running runs and those not started',
    tag: OPERATIONS,
    params: z.object({ batchId: z.string().min(1) }),
    status: 202,
    response: cancellingSchema,
    fields: at('path', 'batchId'),
    handler: ({ params, auth }) => cancelBatch(deps, auth.accountId, params.batchId),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/runs/:runId/events',
    summary:
      'Live progress of the run as Server-Sent Events (run.started, step.started, step.finished, run.waiting, run.finished, log); resumes after Last-Event-ID; ends after run.finished',
    tag: OPERATIONS,
    params: runParams,
    fields: runFields,
    handler: ({ params, auth, req, res }) => runEvents(deps, req, res, auth, params.runId, { heartbeatMs: deps.config.sseHeartbeatMs }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/batches/:batchId/events',
    summary: "Live progress of the batch's runs as Server-Sent Events, as for a run, plus batch.finished, after which the stream ends",
    tag: OPERATIONS,
    params: z.object({ batchId: z.string().min(1) }),
    fields: at('path', 'batchId'),
    handler: ({ params, auth, req, res }) => batchEvents(deps, req, res, auth, params.batchId, { heartbeatMs: deps.config.sseHeartbeatMs }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/runs/:runId/rerun',
    summary: 'Run it again as a new batch: same flow version, inputs and variables (source rerun, rerun_of)',
    tag: OPERATIONS,
    params: runParams,
    status: 202,
    response: rerunSchema,
    fields: runFields,
    handler: ({ params, auth }) => rerunRun(deps, auth, params.runId),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/batches/:batchId/rerun',
    summary: 'Rerun a finished batch as a new one: only its failed, cancelled and timed-out runs (only: failed, the default) or all',
    tag: OPERATIONS,
    params: z.object({ batchId: z.string().min(1) }),
    body: z.object({ only: z.enum(['failed', 'all']).optional() }),
    status: 202,
    response: rerunSchema,
    fields: at('path', 'batchId'),
    handler: ({ params, body, auth }) => rerunBatch(deps, auth, params.batchId, body.only ?? 'failed'),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/runs/:runId/resume',
    summary: 'Continue a failed, cancelled or timed-out run from where it stopped: passed steps keep their recorded outputs and are not executed again; env changes variables',
    tag: OPERATIONS,
    params: runParams,
    body: z.object({ env: keyValuesSchema.optional() }),
    status: 202,
    response: resumeSchema,
    fields: { ...runFields, env: ['body', 'env'] },
    handler: ({ params, body, auth }) => resumeRun(deps, auth, params.runId, body.env ?? {}),
  }),
  ...(['approve', 'reject'] as const).map((verb) =>
    defineRoute({
      method: 'post',
      path: `/api/v1/runs/:runId/steps/:stepId/${verb}`,
      tag: OPERATIONS,
      summary: `${verb === 'approve' ? 'Approve' : 'Reject'} a waiting approval step`,
      params: z.object({ runId: z.string().min(1), stepId: z.string().min(1) }),
      body: z.object({ comment: z.string().max(2000).optional() }),
      status: 202,
      response: decisionSchema,
      fields: at('path', 'runId', 'stepId'),
      handler: ({ params, body, auth }) => decideApproval(deps, auth, params.runId, params.stepId, verb === 'approve', body.comment),
    }),
  ),
];
