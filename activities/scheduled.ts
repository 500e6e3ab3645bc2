/**
 * A schedule's firing turned into a batch, as the gateway turns a `POST /api/v1/flows/run` into
 * one (the same preparation, core/batches.ts), recorded as started by the schedule.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import { prepareBatch } from '../core/batches';
import { insertBatchRows } from '../db/projections';
import { scheduledBatchId } from '../domain/derived-ids';
import { DomainError } from '../domain/errors';
import type { BatchRunInput } from '../domain/flow-types';
import { workflowInput } from '../domain/batch-plan';
import type { ScheduledTrigger } from '../workflows/contract';

export function createScheduledActivities(dataSource: DataSource) {
  return {
    async prepareScheduledBatch(input: ScheduledTrigger & { firingWorkflowId: string }): Promise<BatchRunInput> {
      const batchId = scheduledBatchId(input.firingWorkflowId);
      const auth = { accountId: input.accountId, keyId: `schedule:${input.scheduleId}`, keyName: `schedule ${input.scheduleId}`, isAdmin: false, scopes: ['run' as const] };
      try {
        return await dataSource.transaction(async (m) => {
          const batch = await prepareBatch({ dataSource }, auth, {
            ...input.trigger,
            saveEnv: false,
            source: 'schedule',
            scheduleId: input.scheduleId,
            actor: { id: input.scheduleId, name: `schedule ${input.scheduleId}`, type: 'system' },
            // Run ids derive from the firing too, so a retried activity writes the same rows.
            idempotency: { key: input.firingWorkflowId, request: input.trigger },
          }, m, batchId);
          await insertBatchRows(m, batch);
          return workflowInput(batch);
        });
      } catch (err) {
        // A flow, suite or app the trigger names is gone: this firing fails, saying why; the schedule goes on.
        if (err instanceof DomainError) throw ApplicationFailure.nonRetryable(`schedule ${input.scheduleId}: ${err.message}`, 'ScheduledTriggerInvalid');
        throw err;
      }
    },
  };
}
