/** Reads of `flow_run_stats` and `flow_run_durations`, the figures the `runs` triggers keep per flow (db/entities/flows.ts). */
import type { DataSource } from 'typeorm';

/** A flow's run figures, as GET /api/v1/flows/{flowId}/runs/stats answers them. */
export interface FlowRunFigures {
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
export async function flowRunStats(db: DataSource, accountId: string, flowId: string): Promise<FlowRunFigures> {
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
