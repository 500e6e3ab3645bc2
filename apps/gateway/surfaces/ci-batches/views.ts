/**
 * The CI-batch contract's responses (docs/api-contracts.md): snake_case fields and the
 * platform's lower-case statuses. Each view returns its schema's type, so the OpenAPI document
 * and the replies cannot drift.
 */
import { z } from 'zod';
import type { Actor, App, Run, RunLog, RunRequest } from '../../../../db/entities';
import { batchStatus, isTerminalRun, RUN_STATUSES } from '../../../../domain/statuses';
import type { StepStatus } from '../../../../domain/statuses';
import type { LiveRun } from '../../runs/reconcile';
import type { TemporalLink } from '../../runs/temporal-links';
import type { BatchHead, RunSummary } from '../../runs/queries';
import type { TriggeredBatch } from '../../../../core/batches';
import { browserDetailsOf, iso, presentedStatus, type StepView } from '../../runs/views';
import { artifactFileUrl } from '../../visual/use-cases';
import type { HttpTotals } from './queries';

const actor = z.object({ id: z.string(), name: z.string(), type: z.enum(['user', 'system']) }).nullable();
const runError = z.object({ step: z.string(), message: z.string() }).nullable();
const isoOrNull = z.string().nullable();

export const triggeredBatchSchema = z.object({
  batch_id: z.string(),
  status: z.string(),
  source: z.string(),
  created_at: z.string(),
  runs: z.array(z.object({ id: z.string(), flow_id: z.string(), flow_name: z.string(), status: z.string() })),
});

export const batchStatusSchema = z.object({
  batch_id: z.string(),
  status: z.enum(RUN_STATUSES),
  is_complete: z.boolean(),
  source: z.string().nullable(),
  schedule_id: z.string().nullable(),
  actor,
  created_at: z.string(),
  runs: z.array(
    z.object({
      id: z.string(),
      flow_id: z.string(),
      flow_name: z.string(),
      status: z.enum(RUN_STATUSES),
      started_at: isoOrNull,
      finished_at: isoOrNull,
      duration_ms: z.number().nullable(),
      error: runError,
      /** Succeeded as the rerun (or resumption) of a run that failed or timed out. */
      flaky: z.boolean(),
    }),
  ),
});

/** A step as the run detail's actions and the performance artifact both show it. */
const stepTimingSchema = z.object({
  step_id: z.string(),
  name: z.string(),
  type: z.string(),
  status: z.string(),
  started_at: isoOrNull,
  finished_at: isoOrNull,
  duration_ms: z.number().nullable(),
  attempts: z.number(),
});

const summarySchema = z.object({
  total_actions: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  skipped: z.number(),
  cancelled: z.number(),
  running: z.number(),
  queued: z.number(),
  text: z.string(),
});

export const runDetailSchema = z.object({
  id: z.string(),
  batch_id: z.string().nullable(),
  flow_id: z.string(),
  flow_name: z.string(),
  flow_version: z.number().nullable(),
  status: z.enum(RUN_STATUSES),
  source: z.string(),
  actor,
  rerun_of: z.string().nullable(),
  resumed_from: z.string().nullable(),
  /** Succeeded as the rerun (rerun_of) or resumption (resumed_from) of a run that failed or timed out: passed on a retry. */
  flaky: z.boolean(),
  platform: z.enum(['web', 'ios', 'android']).nullable(),
  browser: z.string().nullable(),
  app_id: z.string().nullable(),
  build_id: z.string().nullable(),
  tags: z.array(z.object({ key: z.string(), value: z.string() })),
  trigger_data: z.unknown(),
  variables: z.record(z.string(), z.string()),
  created_at: z.string(),
  started_at: isoOrNull,
  finished_at: isoOrNull,
  duration_ms: z.number().nullable(),
  error: runError,
  summary: summarySchema,
  actions: z.array(
    stepTimingSchema.extend({
      output: z.unknown(),
      error: z.string().nullable(),
      screenshot_url: z.string().nullable(),
      /** On the entries of a browser step's actions, which follow the step's own entry. */
      action: z.string().optional(),
      selector: z.string().nullable().optional(),
      /** On a browser or scan step's entry: the browser it ran in. */
      browser: z.object({ name: z.string(), engine: z.string(), version: z.string() }).optional(),
      /** On a browser or scan step's entry: its last attempt's Playwright trace (`npx playwright show-trace`), null when none was kept. */
      trace_url: z.string().nullable().optional(),
    }),
  ),
  artifacts: z.object({ performance_metrics_url: isoOrNull, log_url: isoOrNull, network_requests_url: isoOrNull }),
  /** The run's flow-run workflow and its page in the Temporal UI (FLOWRUNS_TEMPORAL_UI_URL). */
  temporal: z.object({ workflow_id: z.string(), ui_url: z.string() }),
});

export const performanceSchema = z.object({
  run_id: z.string(),
  duration_ms: z.number().nullable(),
  steps: z.array(
    stepTimingSchema.extend({
      lcp_ms: z.number().nullable().optional(),
      fcp_ms: z.number().nullable().optional(),
      cls: z.number().nullable().optional(),
      ttfb_ms: z.number().nullable().optional(),
      dom_content_loaded_ms: z.number().nullable().optional(),
      load_ms: z.number().nullable().optional(),
      js_heap_bytes: z.number().nullable().optional(),
      cpu_time_ms: z.number().nullable().optional(),
    }),
  ),
  http: z.object({ requests: z.number(), failed: z.number(), total_duration_ms: z.number(), total_bytes: z.number() }),
});

export const decisionSchema = z.object({
  run_id: z.string(),
  step_id: z.string(),
  approved: z.boolean(),
  reviewed_by: z.string(),
  reviewed_at: z.string(),
});

/** `POST /api/v1/flows/run`. */
export function triggeredBatchView(b: TriggeredBatch): z.infer<typeof triggeredBatchSchema> {
  return {
    batch_id: b.batchId,
    status: batchStatus(b.runs.map((r) => r.status)),
    source: b.source,
    created_at: b.createdAt.toISOString(),
    runs: b.runs.map((r) => ({ id: r.id, flow_id: r.flowId, flow_name: r.flowName, status: r.status })),
  };
}

/** Flaky as its row says (a trigger keeps it), while the status shown is the success it was set for. */
const isFlaky = (l: LiveRun<RunSummary>): boolean => l.run.flaky === true && presentedStatus(l) === 'succeeded';

/** `GET /api/v1/runs/status`. */
export function batchStatusView(batch: BatchHead, runs: readonly LiveRun<RunSummary>[]): z.infer<typeof batchStatusSchema> {
  const statuses = runs.map(presentedStatus);
  return {
    batch_id: batch.id,
    status: batchStatus(statuses),
    is_complete: statuses.length > 0 && statuses.every(isTerminalRun),
    source: batch.source ?? null,
    schedule_id: batch.scheduleId ?? null,
    actor: (batch.actor as Actor | null) ?? null,
    created_at: batch.createdAt.toISOString(),
    runs: runs.map((l) => ({
      id: l.run.publicId,
      flow_id: l.run.flowId,
      flow_name: l.run.flowName,
      status: presentedStatus(l),
      started_at: iso(l.run.startedAt),
      finished_at: iso(l.run.finishedAt),
      duration_ms: l.run.durationMs,
      error: l.run.error ?? null,
      flaky: isFlaky(l),
    })),
  };
}

/** One line a human reads in a CI log, e.g. "5 actions: 3 succeeded, 1 failed, 1 skipped". */
function summaryOf(steps: readonly StepView[]): z.infer<typeof summarySchema> {
  const count = (...s: StepStatus[]) => steps.filter((x) => s.includes(x.status)).length;
  const summary = {
    total_actions: steps.length,
    succeeded: count('succeeded'),
    failed: count('failed'),
    skipped: count('skipped'),
    cancelled: count('cancelled'),
    running: count('running', 'waiting'),
    queued: count('queued'),
  };
  const parts = (['succeeded', 'failed', 'skipped', 'cancelled', 'running', 'queued'] as const)
    .filter((k) => summary[k] > 0)
    .map((k) => `${summary[k]} ${k}`);
  const text =
    steps.length === 0 ? 'no actions recorded yet' : `${steps.length} action${steps.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
  return { ...summary, text };
}

export interface ArtifactFlags {
  hasLog: boolean;
  hasRequests: boolean;
  started: boolean;
}

const artifactUrl = (baseUrl: string, runId: string, file: string): string =>
  `${baseUrl}/api/v1/runs/${encodeURIComponent(runId)}/artifacts/${file}`;

const stepTiming = (s: StepView): z.infer<typeof stepTimingSchema> => ({
  step_id: s.stepId,
  name: s.name,
  type: s.type,
  status: s.status,
  started_at: s.startedAt,
  finished_at: s.finishedAt,
  duration_ms: s.durationMs,
  attempts: s.attempts,
});

/**
 * A step's entries in `actions`: the step itself, then, for a browser or scan step, one per
 * browser action it performed, each with its screenshot's URL.
 */
function actionEntries(s: StepView, fileUrl: (file: string) => string): z.infer<typeof runDetailSchema>['actions'] {
  const d = browserDetailsOf(s);
  const shotUrl = (name: string | null | undefined) => (name ? fileUrl(`${name}.png`) : null);
  const last = d?.actions.filter((a) => a.screenshot).pop()?.screenshot;
  const step = { ...stepTiming(s), output: s.output, error: s.error, screenshot_url: shotUrl(last), ...(d ? { browser: d.browser, trace_url: d.trace ? fileUrl(d.trace) : null } : {}) };
  if (!d) return [step];
  return [
    step,
    ...d.actions.map((a) => ({
      step_id: s.stepId,
      name: `${a.action}${a.selector ? ` ${a.selector}` : ''}`,
      type: `${s.type}.action`,
      status: a.status,
      started_at: a.started_at,
      finished_at: a.finished_at,
      duration_ms: a.duration_ms,
      attempts: d.attempt,
      output: null,
      error: a.error,
      screenshot_url: shotUrl(a.screenshot),
      action: a.action,
      selector: a.selector,
    })),
  ];
}

/** `GET /api/v1/runs/{run_id}`; artifact URLs are absolute, null when the artifact was not produced. */
export function runDetailView(
  live: LiveRun,
  steps: readonly StepView[],
  platform: App['platform'] | null,
  a: ArtifactFlags,
  baseUrl: string,
  temporal: TemporalLink,
): z.infer<typeof runDetailSchema> {
  const r = live.run;
  return {
    id: r.publicId,
    batch_id: r.batchId,
    flow_id: r.flowId,
    flow_name: r.flowName,
    flow_version: r.flowVersion,
    status: presentedStatus(live),
    source: r.source,
    actor: r.actor ?? null,
    rerun_of: r.rerunOf ?? null,
    resumed_from: r.resumedFrom ?? null,
    flaky: isFlaky(live),
    platform,
    browser: r.browser,
    app_id: r.appId,
    build_id: r.buildId,
    tags: r.tags ?? [],
    trigger_data: r.triggerData ?? null,
    variables: r.variables ?? {},
    created_at: r.createdAt.toISOString(),
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    duration_ms: r.durationMs,
    error: r.error ?? null,
    summary: summaryOf(steps),
    actions: steps.flatMap((s) => actionEntries(s, (file) => artifactFileUrl(baseUrl, r.publicId, s.stepId, file))),
    artifacts: {
      performance_metrics_url: a.started ? artifactUrl(baseUrl, r.publicId, 'performance.json') : null,
      log_url: a.hasLog ? artifactUrl(baseUrl, r.publicId, 'log.jsonl') : null,
      network_requests_url: a.hasRequests ? artifactUrl(baseUrl, r.publicId, 'network.jsonl') : null,
    },
    temporal,
  };
}

/** A line of `log.jsonl`. */
export const logLine = (l: RunLog) => ({ timestamp: iso(l.ts), level: l.level, step: l.stepId, message: l.message, ...(l.source ? { source: l.source } : {}) });

/** A line of `network.jsonl`: a request that got no response has status 0 and an `error`. */
export const requestLine = (q: RunRequest) => ({
  timestamp: iso(q.ts),
  step_id: q.stepId,
  attempt: q.attempt,
  method: q.method,
  url: q.url,
  status: q.status,
  resource_type: q.resourceType,
  duration_ms: q.durationMs,
  response_size: q.responseSize,
  ...(q.error ? { error: q.error } : {}),
});

/** `performance.json`. */
export function performanceView(run: Run, steps: readonly StepView[], http: HttpTotals): z.infer<typeof performanceSchema> {
  return {
    run_id: run.publicId,
    duration_ms: run.durationMs,
    steps: steps.map((s) => ({ ...stepTiming(s), ...browserDetailsOf(s)?.performance })),
    http: { requests: http.requests, failed: http.failed, total_duration_ms: http.totalDurationMs, total_bytes: http.totalBytes },
  };
}

/** The answer to an approve or reject. */
export function decisionView(d: { runId: string; stepId: string; approved: boolean; reviewer: string; reviewedAt: Date }): z.infer<typeof decisionSchema> {
  return { run_id: d.runId, step_id: d.stepId, approved: d.approved, reviewed_by: d.reviewer, reviewed_at: d.reviewedAt.toISOString() };
}
