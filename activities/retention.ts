/**
 * The retention sweep: finished runs older than their account's `retention_days` are deleted in
 * batches (their steps, logs, requests and artifact rows go with them), then their files in the
 * artifact store and the batches left empty. A run that is not finished is never touched.
 */
import { Context } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import { artifactKey, type ArtifactStore } from '../db/artifact-store';
import { TERMINAL_RUN_STATUSES } from '../domain/statuses';

export interface SweepResult {
  runs: number;
  batches: number;
  /** True when the sweep stopped at its limit with old runs left. */
  more: boolean;
}

export function createRetentionActivities(dataSource: DataSource, store?: ArtifactStore) {
  return {
    async sweepRetention(input: { batchSize?: number; maxBatches?: number } = {}): Promise<SweepResult> {
      const batchSize = input.batchSize ?? 500;
      const maxBatches = input.maxBatches ?? 20;
      let runs = 0;
      let batches = 0;
      for (let i = 0; i < maxBatches; i++) {
        // TypeORM answers a DELETE … RETURNING on Postgres as [rows, affected].
        const [deleted] = (await dataSource.query(
          `DELETE FROM runs WHERE id IN (
             SELECT r.id FROM runs r JOIN accounts a ON a.id = r.account_id
              WHERE r.finished_at IS NOT NULL AND r.status = ANY($1::text[])
                AND r.finished_at < now() - make_interval(days => a.retention_days)
              ORDER BY r.finished_at LIMIT $2 FOR UPDATE OF r SKIP LOCKED)
           RETURNING id, batch_id`,
          [TERMINAL_RUN_STATUSES, batchSize],
        )) as [{ id: string; batch_id: string | null }[], number];
        for (const r of deleted) await store?.removeAll(artifactKey('runs', r.id));
        const batchIds = [...new Set(deleted.map((r) => r.batch_id).filter((b): b is string => b !== null))];
        if (batchIds.length > 0) {
          const [, gone] = (await dataSource.query(
            `DELETE FROM batches b WHERE b.id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.batch_id = b.id) RETURNING id`,
            [batchIds],
          )) as [unknown[], number];
          batches += gone;
        }
        runs += deleted.length;
        Context.current().heartbeat({ runs });
        if (deleted.length < batchSize) return { runs, batches, more: false };
      }
      return { runs, batches, more: true };
    },
  };
}
