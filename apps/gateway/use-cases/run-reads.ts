/**
 * Use cases of the run read side: Postgres projections first, then Temporal for whatever
 * Postgres still thinks is open (reconcile.ts), then the seed's DTO (run-views.ts).
 */
import type { DataSource } from 'typeorm';
import type { Run } from '../../../db/entities';
import type { RunStatus } from '../../../domain/statuses';
import { decodeCursor, encodeCursor } from '../http/cursor';
import { badRequest, notFound } from '../http/errors';
import type { LiveRun, RunReconciler } from './reconcile';
import * as q from './run-queries';
import * as v from './run-views';

export interface RunReadDeps {
  dataSource: DataSource;
  reconciler: RunReconciler;
}

export async function batchStatus(deps: RunReadDeps, accountId: string, batchId: string) {
  const batch = await q.findBatch(deps.dataSource, accountId, batchId);
  if (!batch) throw notFound('batch', ['query', 'batch_id']);
  const runs = await deps.reconciler.reconcileMany(await q.findBatchRuns(deps.dataSource, batch.id));
  return v.batchStatusView(batch, runs);
}

async function liveRun(deps: RunReadDeps, accountId: string, runId: string, flowId?: string): Promise<LiveRun> {
  const run = await q.findRun(deps.dataSource, accountId, runId);
  if (!run || (flowId !== undefined && run.flowId !== flowId)) throw notFound('run', ['path', 'runId']);
  return deps.reconciler.reconcileOne(run);
}

async function stepsOf(deps: RunReadDeps, live: LiveRun): Promise<v.StepView[]> {
  return v.mergeSteps(await q.findSteps(deps.dataSource, live.run.id), live.progress);
}

/** Seed 000 run results, with live step states while the workflow runs. */
export async function runDetail(deps: RunReadDeps, accountId: string, runId: string, baseUrl: string) {
  const live = await liveRun(deps, accountId, runId);
  const [steps, platform, presence] = await Promise.all([
    stepsOf(deps, live),
    q.findAppPlatform(deps.dataSource, accountId, live.run.appId),
    q.artifactPresence(deps.dataSource, live.run.id),
  ]);
  return v.runDetailView(live, steps, platform, { ...presence, started: v.hasStarted(live.run, steps) }, baseUrl);
}

/** Artifacts read the rows only: they are records of what happened, not live state. */
async function runForArtifact(deps: RunReadDeps, accountId: string, runId: string): Promise<Run> {
  const run = await q.findRun(deps.dataSource, accountId, runId);
  if (!run) throw notFound('run', ['path', 'runId']);
  return run;
}

/** JSONL lines of the run's log; 404 when the run wrote none, as its null `log_url` says. */
export async function logLines(deps: RunReadDeps, accountId: string, runId: string): Promise<AsyncIterable<string>> {
  const run = await runForArtifact(deps, accountId, runId);
  if (!(await q.artifactPresence(deps.dataSource, run.id)).hasLog) throw notFound('log artifact');
  return (async function* () {
    for await (const chunk of q.streamLogs(deps.dataSource, run.id)) yield chunk.map((l) => JSON.stringify(v.logLine(l)) + '\n').join('');
  })();
}

export async function networkLines(deps: RunReadDeps, accountId: string, runId: string): Promise<AsyncIterable<string>> {
  const run = await runForArtifact(deps, accountId, runId);
  if (!(await q.artifactPresence(deps.dataSource, run.id)).hasRequests) throw notFound('network artifact');
  return (async function* () {
    for await (const chunk of q.streamRequests(deps.dataSource, run.id)) yield chunk.map((r) => JSON.stringify(v.requestLine(r)) + '\n').join('');
  })();
}

export async function performance(deps: RunReadDeps, accountId: string, runId: string) {
  const run = await runForArtifact(deps, accountId, runId);
  const steps = v.mergeSteps(await q.findSteps(deps.dataSource, run.id), null);
  if (!v.hasStarted(run, steps)) throw notFound('performance artifact');
  return v.performanceView(run, steps, await q.httpTotals(deps.dataSource, run.id));
}

async function requireFlow(deps: RunReadDeps, accountId: string, flowId: string): Promise<void> {
  if (!(await q.flowExists(deps.dataSource, accountId, flowId))) throw notFound('flow', ['path', 'flowId']);
}

function parseRunCursor(cursor: string): [string, string] {
  const [ts, id] = decodeCursor(cursor, 2);
  if (typeof ts !== 'string' || Number.isNaN(Date.parse(ts)) || typeof id !== 'string')
    throw badRequest('cursor is not valid; pass a cursor returned by this endpoint', ['query', 'cursor'], 'cursor_invalid');
  return [ts, id];
}

/** Seed 004 list: one keyset page, reconciled, with the page's step counts in one query. */
export async function flowRuns(
  deps: RunReadDeps,
  accountId: string,
  flowId: string,
  page: { limit: number; cursor?: string; status?: RunStatus },
) {
  await requireFlow(deps, accountId, flowId);
  const after = page.cursor ? parseRunCursor(page.cursor) : null;
  const { runs, hasMore } = await q.pageFlowRuns(deps.dataSource, { accountId, flowId, limit: page.limit, after, status: page.status ?? null });
  const [live, counts] = await Promise.all([
    deps.reconciler.reconcileMany(runs),
    q.stepCounts(deps.dataSource, runs.map((r) => r.id)),
  ]);
  const last = runs[runs.length - 1];
  return {
    data: live.map((l) => v.flowRunItemView(l, counts.get(l.run.id))),
    cursor: hasMore && last ? encodeCursor(q.runCursorKey(last)) : null,
    hasMore,
  };
}

const ms = (n: number | null): number => (n === null ? 0 : Math.round(n));

/** Seed 004 stats; a flow without finished runs reports 0 durations rather than null, as its numbers are. */
export async function flowRunStats(deps: RunReadDeps, accountId: string, flowId: string) {
  await requireFlow(deps, accountId, flowId);
  const s = await q.flowRunStats(deps.dataSource, accountId, flowId);
  return {
    totalRuns: s.totalRuns,
    succeeded: s.succeeded,
    failed: s.failed,
    successRate: s.totalRuns === 0 ? 0 : Math.round((s.succeeded * 1000) / s.totalRuns) / 10,
    averageDuration: ms(s.averageDuration),
    lastRun: s.lastRun ? new Date(s.lastRun).toISOString() : null,
    p50Duration: ms(s.p50Duration),
    p95Duration: ms(s.p95Duration),
  };
}

/** Seed 004 run detail. */
export async function flowRun(deps: RunReadDeps, accountId: string, flowId: string, runId: string) {
  await requireFlow(deps, accountId, flowId);
  const live = await liveRun(deps, accountId, runId, flowId);
  return v.flowRunDetailView(live, await stepsOf(deps, live));
}
