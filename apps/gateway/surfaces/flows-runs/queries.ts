/** Reads behind a flow's runs: the keyset page, the page's step counts, and the flow's statistics, each one query. */
import type { DataSource } from 'typeorm';
import { RunEntity } from '../../../../db/entities';
import { fastQuery, selectRows } from '../../../../db/rows';
import { stepCountRows } from '../../../../db/runs';
import type { Run } from '../../../../db/entities';
import type { TimeKey } from '../../../../db/keyset';
import type { RunStatus } from '../../../../domain/statuses';

/** A soft-deleted flow still counts: its runs stay readable. */
export async function flowExists(db: DataSource, accountId: string, flowId: string): Promise<boolean> {
  const rows = await fastQuery(db, 'SELECT 1 FROM flows WHERE account_id = $1 AND id = $2 LIMIT 1', [accountId, flowId]);
  return rows.length > 0;
}

export interface FlowRunPage {
  runs: Run[];
  hasMore: boolean;
}

/**
 * Newest first, keyset on (created_at DESC, id DESC) over the runs_flow_page index: a run
 * inserted between two page fetches lands before the cursor, so it never shifts later pages.
 */
export async function pageFlowRuns(
  db: DataSource,
  q: { accountId: string; flowId: string; limit: number; after: TimeKey | null; status: RunStatus | null },
): Promise<FlowRunPage> {
  // Only the conditions asked for are in the text: each variant is a prepared statement whose
  // plan keeps the keyset condition on the index, whatever the values.
  const params: unknown[] = [q.accountId, q.flowId, q.limit + 1];
  let where = 'account_id = $1 AND flow_id = $2';
  if (q.status) where += ` AND status = $${params.push(q.status)}`;
  if (q.after) where += ` AND (created_at, id) < ($${params.push(q.after[0])}::timestamptz, $${params.push(q.after[1])}::text)`;
  const rows = await selectRows<Run>(db, RunEntity, `SELECT * FROM runs WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $3`, params);
  return { runs: rows.slice(0, q.limit), hasMore: rows.length > q.limit };
}

export interface StepCounts {
  total: number;
  succeeded: number;
}

/**
 * Step counts for a whole page in one grouped query. A run whose steps are not all recorded
 * yet counts the steps of the definition it runs, so a queued run does not claim zero steps.
 */
export async function stepCounts(db: DataSource, runIds: string[]): Promise<Map<string, StepCounts>> {
  const out = new Map<string, StepCounts>();
  if (runIds.length === 0) return out;
  const rows = await stepCountRows(db, runIds);
  for (const r of rows) out.set(r.id, { total: r.total, succeeded: r.succeeded });
  return out;
}

export { flowRunStats, type FlowRunFigures as FlowRunStats } from '../../../../db/flow-run-stats';
