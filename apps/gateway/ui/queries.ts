/**
 * The dashboard's own reads: the run list with its filters (flow, batch, status, source), newest
 * first on (created_at, id), with each run's `flaky` mark (SPEC §10: a run that passes on a retry). Always within one account.
 */
import type { DataSource } from 'typeorm';
import { RunEntity, type Run } from '../../../db/entities';
import { selectRows } from '../../../db/rows';
import { artifactsNamed } from '../../../db/run-artifacts';
import { findBaseline } from '../../../db/visual-baselines';
import type { RunStatus } from '../../../domain/statuses';

export interface RunListFilter {
  accountId: string;
  flowId?: string;
  batchId?: string;
  status?: RunStatus;
  source?: string;
}

/** A listed run; `flaky` (kept by the runs table's trigger): it passed as a rerun or a resume of a run that failed. */
export type ListedRun = Run;

/** The position after which a page starts: the last run of the previous page. */
export type Before = [createdAt: string, id: string];

export const encodeBefore = (r: Run): string => Buffer.from(`${r.createdAt.toISOString()}|${r.id}`).toString('base64url');

export function decodeBefore(cursor: string | undefined): Before | null {
  if (!cursor) return null;
  const [ts, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  return ts && id && !Number.isNaN(Date.parse(ts)) ? [ts, id] : null;
}

/** Up to `limit` runs matching `f`, older than `before`, newest first; `more` when others follow. */
export async function listRuns(db: DataSource, f: RunListFilter, before: Before | null, limit: number): Promise<{ runs: ListedRun[]; more: boolean }> {
  const params: unknown[] = [f.accountId, limit + 1];
  let where = 'r.account_id = $1';
  if (f.flowId) where += ` AND r.flow_id = $${params.push(f.flowId)}`;
  if (f.batchId) where += ` AND r.batch_id = $${params.push(f.batchId)}`;
  if (f.status) where += ` AND r.status = $${params.push(f.status)}`;
  if (f.source) where += ` AND r.source = $${params.push(f.source)}`;
  if (before) where += ` AND (r.created_at, r.id) < ($${params.push(before[0])}::timestamptz, $${params.push(before[1])}::text)`;
  const rows = await selectRows<ListedRun>(db, RunEntity, `SELECT r.* FROM runs r WHERE ${where} ORDER BY r.created_at DESC, r.id DESC LIMIT $2`, params);
  return { runs: rows.slice(0, limit), more: rows.length > limit };
}

/** The account's flows, id and name, for the filter and the links; its apps, for the run form. */
export { flowNames } from '../../../db/flows';
export { appNames } from '../../../db/apps';

export interface ScreenshotFiles {
  stepId: string;
  shot: { meta: { width?: number; height?: number; browser?: string; viewport?: string; flowId?: string } } | null;
  diff: { meta: { similarity?: number; baselineRunId?: string } } | null;
}

/** A run's screenshot `name` (and its diff) in step `stepId`, or each step's when no step is given. */
export async function screenshotFiles(db: DataSource, runId: string, name: string, stepId: string | undefined): Promise<ScreenshotFiles[]> {
  const rows = await artifactsNamed(db, runId, [`${name}.png`, `${name}.diff.png`], stepId ? { stepId } : {});
  const byStep = new Map<string, ScreenshotFiles>();
  for (const r of rows) {
    const entry = byStep.get(r.step_id) ?? { stepId: r.step_id, shot: null, diff: null };
    if (r.name === `${name}.png`) entry.shot = { meta: (r.meta ?? {}) as NonNullable<ScreenshotFiles['shot']>['meta'] };
    else entry.diff = { meta: (r.meta ?? {}) as NonNullable<ScreenshotFiles['diff']>['meta'] };
    byStep.set(r.step_id, entry);
  }
  return [...byStep.values()].filter((e) => e.shot);
}

/** The baseline a screenshot is compared with now: the run it came from, or null when there is none. */
export async function currentBaseline(
  db: DataSource,
  accountId: string,
  key: { flowId: string; stepId: string; name: string; browser: string; viewport: string },
): Promise<{ runId: string; createdAt: Date } | null> {
  const found = await findBaseline(db, accountId, key);
  return found ? { runId: found.runId, createdAt: found.createdAt } : null;
}
