/**
 * One firing of a schedule: resolves the schedule's trigger into a fresh batch (its rows written,
 * its id derived from this workflow's id, so a retry finds the same batch) and runs it as the
 * child batch workflow `batch-<batchId>`, which the API then shows like any other batch.
 */
import { executeChild, workflowInfo } from '@temporalio/workflow';
import type { ScheduledTrigger } from './contract';
import { batchFlowIds } from '../domain/batch-plan';
import { batchRun } from './batch-run';
import { batchWorkflowId } from './definitions';
import { record } from './record';
import { ACCOUNT_ID, BATCH_ID, FLOW_ID, labelAttributes, RUN_SOURCE } from './search-attributes';
import { batchSummary } from './summaries';

export async function scheduledBatch(trigger: ScheduledTrigger): Promise<{ batchId: string }> {
  const input = await record.prepareScheduledBatch({ ...trigger, firingWorkflowId: workflowInfo().workflowId });
  await executeChild(batchRun, {
    workflowId: batchWorkflowId(input.batchId),
    args: [input],
    staticSummary: batchSummary(input),
    typedSearchAttributes: [
      { key: BATCH_ID, value: input.batchId },
      { key: ACCOUNT_ID, value: input.accountId },
      { key: RUN_SOURCE, value: input.source },
      { key: FLOW_ID, value: batchFlowIds(input) },
      ...labelAttributes(input.meta),
    ],
  });
  return { batchId: input.batchId };
}
