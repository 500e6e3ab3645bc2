/** Deletions of what is past its account's retention (`accounts.retention_days`): finished runs, then the batches they leave empty. */
import type { DataSource } from 'typeorm';
import { TERMINAL_RUN_STATUSES } from '../domain/statuses';

/**
 * Deletes up to `limit` finished runs older than their account's retention, oldest first, skipping
 * rows others hold (their steps, logs, requests and artifact rows cascade); returns them.
 */
export async function deleteExpiredRuns(db: DataSource, limit: number): Promise<{ id: string; batch_id: string | null }[]> {
  // TypeORM answers a DELETE … RETURNING on Postgres as [rows, affected].
  const [deleted] = (await db.query(
    `DELETE FROM runs WHERE id IN (
       SELECT r.id FROM runs r JOIN accounts a ON a.id = r.account_id
        WHERE r.finished_at IS NOT NULL AND r.status = ANY($1::text[])
          AND r.finished_at < now() - make_interval(days => a.retention_days)
        ORDER BY r.finished_at LIMIT $2 FOR UPDATE OF r SKIP LOCKED)
     RETURNING id, batch_id`,
    [TERMINAL_RUN_STATUSES, limit],
  )) as [{ id: string; batch_id: string | null }[], number];
  return deleted;
}

/** Deletes those of `batchIds` that have no run left; returns how many. */
export async function deleteEmptyBatches(db: DataSource, batchIds: string[]): Promise<number> {
  if (batchIds.length === 0) return 0;
  const [, gone] = (await db.query(
    `DELETE FROM batches b WHERE b.id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.batch_id = b.id) RETURNING id`,
    [batchIds],
  )) as [unknown[], number];
  return gone;
}
