/**
 * The DTOs of the run read side: one platform model (rows plus live Temporal state), spelled
 * the way seed 000 (snake_case, lower-case statuses) and seed 004 (camelCase, upper case) expect.
 */
import type { Actor, Batch, Json, Run, RunLog, RunRequest, StepRun } from '../../../db/entities';
import type { RunProgress } from '../../../domain/flow-types';
import { batchStatus, isTerminalRun, toSeed004Status } from '../../../domain/statuses';
import type { RunStatus, StepStatus } from '../../../domain/statuses';
import type { LiveRun } from './reconcile';
import type { HttpTotals, StepCounts } from './run-queries';

const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

/** A step as presented: its row, overridden by the live workflow state when there is one. */
export interface StepView {
  stepId: string;
  name: string;
  type: string;
  status: StepStatus;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  output: Json;
  error: string | null;
}

/**
 * Live progress wins for every step it knows (the rows lag the workflow by an activity);
 * rows it does not know (none, normally) follow in definition order.
 */
export function mergeSteps(rows: readonly StepRun[], progress: RunProgress | null): StepView[] {
  const fromRow = (r: StepRun): StepView => ({
    stepId: r.stepId,
    name: r.name,
    type: r.type,
    status: r.status,
    attempts: r.attempts,
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
    durationMs: r.durationMs,
    output: r.output ?? null,
    error: r.error,
  });
  if (!progress) return rows.map(fromRow);
  const byId = new Map(rows.map((r) => [r.stepId, r]));
  const live = progress.steps.map((s): StepView => {
    const row = byId.get(s.id);
    return {
      stepId: s.id,
      name: s.name,
      type: s.type,
      status: s.status,
      attempts: s.attempts,
      startedAt: s.startedAt ?? iso(row?.startedAt),
      finishedAt: s.finishedAt ?? iso(row?.finishedAt),
      durationMs: s.durationMs ?? row?.durationMs ?? null,
      output: s.output ?? row?.output ?? null,
      error: s.error ?? row?.error ?? null,
    };
  });
  const known = new Set(progress.steps.map((s) => s.id));
  return [...live, ...rows.filter((r) => !known.has(r.stepId)).map(fromRow)];
}

export const presentedStatus = (live: LiveRun): RunStatus => live.liveStatus ?? live.run.status;

/** Seed 000 `GET /api/v1/runs/status`. */
export function batchStatusView(batch: Batch, runs: readonly LiveRun[]) {
  const statuses = runs.map(presentedStatus);
  return {
    batch_id: batch.id,
    status: batchStatus(statuses),
    is_complete: statuses.length > 0 && statuses.every(isTerminalRun),
    source: batch.source ?? null,
    actor: (batch.actor as Actor | null) ?? null,
    created_at: iso(batch.createdAt),
    runs: runs.map((l) => ({
      id: l.run.id,
      flow_id: l.run.flowId,
      flow_name: l.run.flowName,
      status: presentedStatus(l),
      started_at: iso(l.run.startedAt),
      finished_at: iso(l.run.finishedAt),
      duration_ms: l.run.durationMs,
      error: l.run.error ?? null,
    })),
  };
}

/** One line a human reads in a CI log, e.g. "5 actions: 3 succeeded, 1 failed, 1 skipped". */
export function summaryOf(steps: readonly StepView[]) {
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
    steps.length === 0
      ? 'no actions recorded yet'
      : `${steps.length} action${steps.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
  return { ...summary, text };
}

export interface ArtifactFlags {
  hasLog: boolean;
  hasRequests: boolean;
  started: boolean;
}

export const artifactUrl = (baseUrl: string, runId: string, file: string): string =>
  `${baseUrl}/api/v1/runs/${encodeURIComponent(runId)}/artifacts/${file}`;

/** Seed 000 `GET /api/v1/runs/{run_id}`. */
export function runDetailView(live: LiveRun, steps: readonly StepView[], platform: string | null, a: ArtifactFlags, baseUrl: string) {
  const r = live.run;
  return {
    id: r.id,
    batch_id: r.batchId,
    flow_id: r.flowId,
    flow_name: r.flowName,
    flow_version: r.flowVersion,
    status: presentedStatus(live),
    source: r.source,
    actor: r.actor ?? null,
    platform,
    browser: r.browser,
    app_id: r.appId,
    build_id: r.buildId,
    tags: r.tags ?? [],
    trigger_data: r.triggerData ?? null,
    variables: r.variables ?? {},
    created_at: iso(r.createdAt),
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    duration_ms: r.durationMs,
    error: r.error ?? null,
    summary: summaryOf(steps),
    actions: steps.map((s) => ({ ...stepTiming(s), output: s.output, error: s.error, screenshot_url: null })),
    artifacts: {
      performance_metrics_url: a.started ? artifactUrl(baseUrl, r.id, 'performance.json') : null,
      log_url: a.hasLog ? artifactUrl(baseUrl, r.id, 'log.jsonl') : null,
      network_requests_url: a.hasRequests ? artifactUrl(baseUrl, r.id, 'network.jsonl') : null,
    },
  };
}

/** A step as seed 000's actions and the performance artifact both show it. */
const stepTiming = (s: StepView) => ({
  step_id: s.stepId,
  name: s.name,
  type: s.type,
  status: s.status,
  started_at: s.startedAt,
  finished_at: s.finishedAt,
  duration_ms: s.durationMs,
  attempts: s.attempts,
});

/** A run that has not started yet has produced no metrics. */
export const hasStarted = (run: Run, steps: readonly StepView[]): boolean =>
  run.startedAt !== null || steps.some((s) => s.startedAt !== null);

export const logLine = (l: RunLog) => ({ timestamp: iso(l.ts), level: l.level, step: l.stepId, message: l.message });

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

export function performanceView(run: Run, steps: readonly StepView[], http: HttpTotals) {
  return {
    run_id: run.id,
    duration_ms: run.durationMs,
    steps: steps.map(stepTiming),
    http: { requests: http.requests, failed: http.failed, total_duration_ms: http.totalDurationMs, total_bytes: http.totalBytes },
  };
}

/** Seed 004 has no QUEUED-at-trigger timestamp, so a run not started yet reports when it was triggered. */
const startTime = (r: Run): string | null => iso(r.startedAt ?? r.createdAt);

const seed004Error = (r: Run) => (r.error ? { error: { step: r.error.step, message: r.error.message } } : {});

/** The fields seed 004's list item and run detail share. */
function seed004Run(live: LiveRun) {
  const r = live.run;
  return {
    id: r.id,
    flowId: r.flowId,
    status: toSeed004Status(presentedStatus(live)),
    duration: r.durationMs,
    triggerType: r.source.toUpperCase(),
    startTime: startTime(r),
    finishTime: iso(r.finishedAt),
  };
}

/** Seed 004 list item. */
export function flowRunItemView(live: LiveRun, counts: StepCounts | undefined) {
  return {
    ...seed004Run(live),
    stepsCount: counts?.total ?? 0,
    stepsSucceeded: counts?.succeeded ?? 0,
    ...seed004Error(live.run),
  };
}

/** Seed 004 `GET /api/v1/flows/{flowId}/runs/{runId}`. */
export function flowRunDetailView(live: LiveRun, steps: readonly StepView[]) {
  return {
    ...seed004Run(live),
    steps: steps.map((s) => ({ name: s.name, status: toSeed004Status(s.status), duration: s.durationMs, output: s.output })),
    ...seed004Error(live.run),
  };
}
