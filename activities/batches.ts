/** A batch's records, and what a large batch's workflows read back (its runs by position, their definitions). */
import { ApplicationFailure } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import type { BatchRunInput, FlowRunInput, FlowRunRef } from '../domain';
import { batchRunIds, runInputOf } from '../db/batch-plans';
import { batchRowExists } from '../db/batch-rows';
import { insertBatchRows, type Projections } from '../db/projections';
import { patiently } from './patience';

export function createBatchActivities(dataSource: DataSource, projections: Projections, recordPatienceMs: number) {
  return {
    async recordBatch(input: BatchRunInput): Promise<void> {
      // The gateway wrote the batch and its runs in one transaction before it started the workflow:
      // when the batch row is there, so are its runs, and one read spares the transaction.
      const found = await patiently(() => batchRowExists(dataSource, input.batchId), recordPatienceMs);
      if (!found) await dataSource.transaction((m) => insertBatchRows(m, input));
    },

    /** Ids of a large batch's runs at positions [from, to), for its chunk workflow. */
    async batchRunIds(input: { batchId: string; from: number; to: number }): Promise<{ runId: string; publicId: string }[]> {
      return patiently(() => batchRunIds(dataSource, input.batchId, input.from, input.to), recordPatienceMs);
    },

    /** A run of a large batch, given by reference: its flow definitions at the versions it was triggered with. */
    async loadRunInput(ref: FlowRunRef): Promise<FlowRunInput> {
      const input = await patiently(() => runInputOf(dataSource, ref), recordPatienceMs);
      if (!input) throw ApplicationFailure.nonRetryable(`flow ${ref.flowRef.id} version ${ref.flowRef.version} (or its suite's auth flow) no longer exists`, 'FlowNotFound');
      return input;
    },

    /** Runs of a cancelled large batch that its chunks never reached (positions from `from` on, still queued). */
    async recordQueuedRunsCancelled(input: { batchId: string; from: number }): Promise<void> {
      await projections.queuedRunsCancelled(input.batchId, input.from);
    },
  };
}
