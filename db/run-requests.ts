/** Reads of `run_requests` beyond the entity's repository and the writes of db/step-records.ts. */
import type { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

/** A run's request totals, as pg returns count and sum (text); a failed request got no response (status 0). One row. */
export async function httpTotalRows(db: Db, runId: string): Promise<{ requests: string; failed: string; total_duration_ms: string; total_bytes: string }[]> {
  return db.query(
    `SELECT count(*) AS requests,
            count(*) FILTER (WHERE status = 0) AS failed,
            coalesce(sum(duration_ms), 0) AS total_duration_ms,
            coalesce(sum(response_size), 0) AS total_bytes
       FROM run_requests WHERE run_id = $1`,
    [runId],
  );
}
