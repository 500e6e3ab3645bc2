/** Reads of one flow's runs: a reconciled keyset page, a run's detail with live steps, and statistics. Errors name `flowId`, `runId` and `cursor`. */
import type { z } from 'zod';
import { decodeTimeCursor, encodeCursor, timeKey } from '../../../../db/keyset';
import { NotFoundError } from '../../../../domain/errors';
import type { RunStatus } from '../../../../domain/statuses';
import type { RunReadDeps } from '../../deps';
import * as rq from '../../runs/queries';
import { mergeSteps } from '../../runs/views';
import * as q from './queries';
import * as v from './views';

async function requireFlow(deps: RunReadDeps, accountId: string, flowId: string): Promise<void> {
  if (!(await q.flowExists(deps.dataSource, accountId, flowId))) throw new NotFoundError('flow', ['flowId']);
}

/** One keyset page, newest first, reconciled, with the page's step counts in one query. */
export async function listFlowRuns(
  deps: RunReadDeps,
  accountId: string,
  flowId: string,
  page: { limit: number; cursor?: string; status?: RunStatus },
): Promise<z.infer<typeof v.flowRunPageSchema>> {
  await requireFlow(deps, accountId, flowId);
  const after = page.cursor ? decodeTimeCursor(page.cursor) : null;
  const { runs, hasMore } = await q.pageFlowRuns(deps.dataSource, { accountId, flowId, limit: page.limit, after, status: page.status ?? null });
  const [live, counts] = await Promise.all([deps.reconciler.reconcileMany(runs), q.stepCounts(deps.dataSource, runs.map((r) => r.id))]);
  const last = runs[runs.length - 1];
  return {
    data: live.map((l) => v.flowRunItemView(l, counts.get(l.run.id))),
    cursor: hasMore && last ? encodeCursor(timeKey(last)) : null,
    hasMore,
  };
}

export async function flowRunStats(deps: RunReadDeps, accountId: string, flowId: string) {
  await requireFlow(deps, accountId, flowId);
  return v.flowRunStatsView(await q.flowRunStats(deps.dataSource, accountId, flowId));
}

/** A run of the flow with its steps, live while it runs. */
export async function getFlowRun(deps: RunReadDeps, accountId: string, flowId: string, runId: string) {
  await requireFlow(deps, accountId, flowId);
  const run = await rq.findRun(deps.dataSource, accountId, runId);
  if (!run || run.flowId !== flowId) throw new NotFoundError('run', ['runId']);
  const live = await deps.reconciler.reconcileOne(run);
  return v.flowRunDetailView(live, mergeSteps(await rq.findSteps(deps.dataSource, run.id), live.progress));
}
