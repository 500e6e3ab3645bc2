/**
 * The read side of runs: seed 000 run status, run results and artifacts, seed 004 runs of a
 * flow, and cancellation. Literal segments (`/runs/status`, `/runs/stats`) are declared before
 * the `:runId` routes they would otherwise be taken for.
 */
import type { Response } from 'express';
import { z } from 'zod';
import { RUN_STATUSES } from '../../../domain/statuses';
import type { RunStatus } from '../../../domain/statuses';
import type { GatewayDeps } from '../deps';
import { defineRoute } from '../http/route';
import type { AnyRoute } from '../http/route';
import { RunReconciler } from '../use-cases/reconcile';
import { cancelBatch, cancelRun } from '../use-cases/run-cancel';
import * as reads from '../use-cases/run-reads';

const SEED004_STATUSES = RUN_STATUSES.map((s) => s.toUpperCase());

/** Seed 004 spells statuses in upper case; any case is accepted, the platform's lower case is used. */
const statusFilter = z
  .string()
  .describe(`one of ${SEED004_STATUSES.join(', ')}, in any case`)
  .transform((s, ctx): RunStatus => {
    const lower = s.toLowerCase() as RunStatus;
    if (RUN_STATUSES.includes(lower)) return lower;
    ctx.addIssue({ code: 'custom', input: s, message: `must be one of ${SEED004_STATUSES.join(', ')}` });
    return z.NEVER;
  });

const runParams = z.object({ runId: z.string().min(1) });
const flowParams = z.object({ flowId: z.string().min(1) });
const flowRunParams = z.object({ flowId: z.string().min(1), runId: z.string().min(1) });

const actor = z.object({ id: z.string(), name: z.string(), type: z.enum(['user', 'system']) }).nullable();
const runError = z.object({ step: z.string(), message: z.string() }).nullable();
const iso = z.string().nullable();

const batchStatusResponse = z.object({
  batch_id: z.string(),
  status: z.enum(RUN_STATUSES),
  is_complete: z.boolean(),
  source: z.string().nullable(),
  actor,
  created_at: z.string(),
  runs: z.array(
    z.object({
      id: z.string(),
      flow_id: z.string(),
      flow_name: z.string(),
      status: z.enum(RUN_STATUSES),
      started_at: iso,
      finished_at: iso,
      duration_ms: z.number().nullable(),
      error: runError,
    }),
  ),
});

/** A step as seed 000's run detail and the performance artifact both show it. */
const stepTiming = z.object({
  step_id: z.string(),
  name: z.string(),
  type: z.string(),
  status: z.string(),
  started_at: iso,
  finished_at: iso,
  duration_ms: z.number().nullable(),
  attempts: z.number(),
});

const runDetailResponse = z.object({
  id: z.string(),
  batch_id: z.string().nullable(),
  flow_id: z.string(),
  flow_name: z.string(),
  flow_version: z.number().nullable(),
  status: z.enum(RUN_STATUSES),
  source: z.string(),
  actor,
  platform: z.enum(['web', 'ios', 'android']).nullable(),
  browser: z.string().nullable(),
  app_id: z.string().nullable(),
  build_id: z.string().nullable(),
  tags: z.array(z.object({ key: z.string(), value: z.string() })),
  trigger_data: z.unknown(),
  variables: z.record(z.string(), z.string()),
  created_at: z.string(),
  started_at: iso,
  finished_at: iso,
  duration_ms: z.number().nullable(),
  error: runError,
  summary: z.object({
    total_actions: z.number(),
    succeeded: z.number(),
    failed: z.number(),
    skipped: z.number(),
    cancelled: z.number(),
    running: z.number(),
    queued: z.number(),
    text: z.string(),
  }),
  actions: z.array(stepTiming.extend({ output: z.unknown(), error: z.string().nullable(), screenshot_url: z.null() })),
  artifacts: z.object({ performance_metrics_url: iso, log_url: iso, network_requests_url: iso }),
});

const performanceResponse = z.object({
  run_id: z.string(),
  duration_ms: z.number().nullable(),
  steps: z.array(stepTiming),
  http: z.object({ requests: z.number(), failed: z.number(), total_duration_ms: z.number(), total_bytes: z.number() }),
});

const seed004Error = z.object({ step: z.string(), message: z.string() }).optional();
const flowRunItem = z.object({
  id: z.string(),
  flowId: z.string(),
  status: z.string(),
  duration: z.number().nullable(),
  triggerType: z.string(),
  startTime: iso,
  finishTime: iso,
  stepsCount: z.number(),
  stepsSucceeded: z.number(),
  error: seed004Error,
});
const flowRunDetail = flowRunItem.omit({ stepsCount: true, stepsSucceeded: true }).extend({
  steps: z.array(z.object({ name: z.string(), status: z.string(), duration: z.number().nullable(), output: z.unknown() })),
});
const flowRunStats = z.object({
  totalRuns: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  successRate: z.number(),
  averageDuration: z.number(),
  lastRun: iso,
  p50Duration: z.number(),
  p95Duration: z.number(),
});
const cancelling = z.object({ id: z.string(), status: z.literal('cancelling') });

/** Writes JSONL chunk by chunk; a failure after the first byte can only cut the stream short. */
async function sendJsonl(res: Response, lines: AsyncIterable<string>): Promise<undefined> {
  res.status(200).type('application/x-ndjson');
  try {
    for await (const chunk of lines) if (!res.write(chunk)) await new Promise((ok) => res.once('drain', ok));
    res.end();
  } catch (err) {
    if (!res.headersSent) throw err;
    res.destroy(err as Error);
  }
  return undefined;
}

/** Seed 000 run status / run results / artifacts, seed 004 runs of a flow, and cancellation. */
export const runRoutes = (deps: GatewayDeps): AnyRoute[] => {
  const reconciler = new RunReconciler(deps);
  const rd = { dataSource: deps.dataSource, reconciler };
  const cd = { dataSource: deps.dataSource, client: deps.client, reconciler };
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/runs/status',
      summary: 'Status of a batch and its runs (seed 000 Run Status); poll until is_complete',
      tag: 'Runs (seed 000)',
      query: z.object({ batch_id: z.string().min(1) }),
      response: batchStatusResponse,
      handler: ({ query, auth }) => reads.batchStatus(rd, auth.accountId, query.batch_id),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/runs/:runId',
      summary: 'Full results of a run: metadata, summary, actions and artifact URLs (seed 000 Get Run Results)',
      tag: 'Runs (seed 000)',
      params: runParams,
      response: runDetailResponse,
      handler: ({ params, auth, baseUrl }) => reads.runDetail(rd, auth.accountId, params.runId, baseUrl),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/runs/:runId/artifacts/log.jsonl',
      summary: 'The run log as JSONL: {timestamp, level, step, message}',
      tag: 'Runs (seed 000)',
      params: runParams,
      handler: async ({ params, auth, res }) => sendJsonl(res, await reads.logLines(rd, auth.accountId, params.runId)),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/runs/:runId/artifacts/network.jsonl',
      summary: 'HTTP requests of the run as JSONL; a request that got no response has status 0 and an error',
      tag: 'Runs (seed 000)',
      params: runParams,
      handler: async ({ params, auth, res }) => sendJsonl(res, await reads.networkLines(rd, auth.accountId, params.runId)),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/runs/:runId/artifacts/performance.json',
      summary: 'Step timings and HTTP totals of the run',
      tag: 'Runs (seed 000)',
      params: runParams,
      response: performanceResponse,
      handler: ({ params, auth }) => reads.performance(rd, auth.accountId, params.runId),
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/runs/:runId/cancel',
      summary: 'Cancel a run (its Temporal workflow run-<id>)',
      tag: 'Runs (seed 000)',
      params: runParams,
      status: 202,
      response: cancelling,
      handler: ({ params, auth }) => cancelRun(cd, auth.accountId, params.runId),
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/batches/:batchId/cancel',
      summary: 'Cancel a batch: its workflow batch-<id>, its running runs and those not started',
      tag: 'Runs (seed 000)',
      params: z.object({ batchId: z.string().min(1) }),
      status: 202,
      response: cancelling,
      handler: ({ params, auth }) => cancelBatch(cd, auth.accountId, params.batchId),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/flows/:flowId/runs',
      summary: 'Runs of a flow, newest first (seed 004 List Runs)',
      tag: 'Flow runs (seed 004)',
      params: flowParams,
      query: z.object({
        limit: z.coerce.number().int().min(1).max(100).default(10),
        cursor: z.string().min(1).optional(),
        status: statusFilter.optional(),
      }),
      response: z.object({ data: z.array(flowRunItem), cursor: z.string().nullable(), hasMore: z.boolean() }),
      handler: ({ params, query, auth }) => reads.flowRuns(rd, auth.accountId, params.flowId, query),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/flows/:flowId/runs/stats',
      summary: 'Aggregated statistics of a flow\'s runs (seed 004 Run Statistics), with p50 / p95 durations',
      tag: 'Flow runs (seed 004)',
      params: flowParams,
      response: flowRunStats,
      handler: ({ params, auth }) => reads.flowRunStats(rd, auth.accountId, params.flowId),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/flows/:flowId/runs/:runId',
      summary: 'One run of a flow with its steps (seed 004 Get Run Details)',
      tag: 'Flow runs (seed 004)',
      params: flowRunParams,
      response: flowRunDetail,
      handler: ({ params, auth }) => reads.flowRun(rd, auth.accountId, params.flowId, params.runId),
    }),
  ];
};
