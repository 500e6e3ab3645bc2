/**
 * The retention sweep: finished runs older than their account's `retention_days` are deleted in
 * batches (their steps, logs, requests and artifact rows go with them), then their files in the
 * artifact store and the batches left empty. A run that is not finished is never touched.
 */
import { Context } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import { artifactKey, type ArtifactStore } from '../db/artifact-store';
import { deleteEmptyBatches, deleteExpiredRuns } from '../db/retention';

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
        const deleted = await deleteExpiredRuns(dataSource, batchSize);
        for (const r of deleted) await store?.removeAll(artifactKey('runs', r.id));
        batches += await deleteEmptyBatches(dataSource, [...new Set(deleted.map((r) => r.batch_id).filter((b): b is string => b !== null))]);
        runs += deleted.length;
        Context.current().heartbeat({ runs });
        if (deleted.length < batchSize) return { runs, batches, more: false };
      }
      return { runs, batches, more: true };
    },
  };
}
