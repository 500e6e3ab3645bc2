/** Reads behind a flow's runs: the keyset page, the page's step counts, and the flow's statistics, each one query. */
import type { DataSource } from 'typeorm';
import { RunEntity } from '../../../../db/entities';
import { fastQuery, selectRows } from '../../../../db/rows';
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
  const rows: { id: string; total: number; succeeded: number }[] = await db.query(
    `SELECT r.id,
            GREATEST(count(s.step_id), coalesce(max(jsonb_array_length(fv.definition -> 'steps')), 0))::int AS total,
            (count(s.step_id) FILTER (WHERE s.status = 'succeeded'))::int AS succeeded
       FROM runs r
       LEFT JOIN step_runs s ON s.run_id = r.id
       LEFT JOIN flow_versions fv ON fv.account_id = r.account_id AND fv.flow_id = r.flow_id AND fv.version = r.flow_version
      WHERE r.id = ANY($1::text[])
      GROUP BY r.id`,
    [runIds],
  );
  for (const r of rows) out.set(r.id, { total: r.total, succeeded: r.succeeded });
  return out;
}

export interface FlowRunStats {
  totalRuns: number;
  succeeded: number;
  failed: number;
  flaky: number;
  averageDuration: number | null;
  p50Duration: number | null;
  p95Duration: number | null;
  lastRun: Date | null;
}

/**
 * Read from the figures the `runs` triggers keep per flow (migration 1733900000000): one row, the
 * flow's duration histogram (bounded: at most ~900 buckets per decade of milliseconds) and the
 * newest run by index — never a pass over the runs. Percentiles interpolate as percentile_cont
 * does over the finished runs' durations: exact below 1 s, within 0.5 % above (the histogram
 * keeps 3 significant digits there).
 */
export async function flowRunStats(db: DataSource, accountId: string, flowId: string): Promise<FlowRunStats> {
  const rows: {
    total: string | null;
    succeeded: string | null;
    failed: string | null;
    flaky: string | null;
    avg: number | null;
    p50: number | null;
    p95: number | null;
    last_run: Date | null;
  }[] = await db.query(
    `WITH s AS (SELECT * FROM flow_run_stats WHERE account_id = $1 AND flow_id = $2),
          k AS (SELECT 0.5 * (finished - 1) AS a50, 0.95 * (finished - 1) AS a95 FROM s WHERE finished > 0),
          h AS (SELECT bucket, sum(n) OVER (ORDER BY bucket) AS cum
                  FROM flow_run_durations WHERE account_id = $1 AND flow_id = $2 AND n > 0),
          b AS (SELECT min(bucket) FILTER (WHERE cum > floor(a50)) AS lo50, min(bucket) FILTER (WHERE cum > ceil(a50)) AS hi50,
                       min(bucket) FILTER (WHERE cum > floor(a95)) AS lo95, min(bucket) FILTER (WHERE cum > ceil(a95)) AS hi95
                  FROM h, k)
     SELECT s.total_runs AS total, s.succeeded, s.failed, s.flaky,
            CASE WHEN s.finished > 0 THEN s.duration_sum::float8 / s.finished END AS avg,
            (lo50 + (a50 - floor(a50)) * (hi50 - lo50))::float8 AS p50,
            (lo95 + (a95 - floor(a95)) * (hi95 - lo95))::float8 AS p95,
            (SELECT coalesce(n.started_at, n.created_at) FROM runs n WHERE n.account_id = $1 AND n.flow_id = $2
              ORDER BY n.created_at DESC, n.id DESC LIMIT 1) AS last_run
       FROM (SELECT 1) one LEFT JOIN s ON true LEFT JOIN k ON true LEFT JOIN b ON true`,
    [accountId, flowId],
  );
  const r = rows[0]!;
  return {
    totalRuns: Number(r.total ?? 0),
    succeeded: Number(r.succeeded ?? 0),
    failed: Number(r.failed ?? 0),
    flaky: Number(r.flaky ?? 0),
    averageDuration: r.avg,
    p50Duration: r.p50,
    p95Duration: r.p95,
    lastRun: r.last_run,
  };
}
