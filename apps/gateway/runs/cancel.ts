/**
 * Cancelling a run or a batch is a Temporal cancellation request, nothing more: the workflow
 * records the cancellation in its own projections, and the reconciler covers the gap until then.
 * A run of a batch that has not started yet is cancelled by its batch (the `cancelRuns` signal).
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { ConflictError, NotFoundError, UnavailableError } from '../../../domain/errors';
import { isTerminalRun } from '../../../domain/statuses';
import { batchWorkflowId, cancelRunsSignal, runWorkflowId, WorkflowTypes } from '../../../workflows/definitions';
import type { RunDeps } from '../deps';
import * as q from './queries';
import { presentedStatus } from './views';

export const cancellingSchema = z.object({ id: z.string(), status: z.literal('cancelling') });
export type Cancelling = z.infer<typeof cancellingSchema>;

const CANCEL_TIMEOUT_MS = 5000;

/** Returns false when the workflow does not exist (never started, or closed and gone). */
async function requestCancel(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.withDeadline(Date.now() + CANCEL_TIMEOUT_MS, () => client.workflow.getHandle(workflowId).cancel());
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw new UnavailableError('Temporal is not reachable right now; retry the cancellation');
  }
}

/** Errors name the run as `runId`. */
export async function cancelRun(deps: Pick<RunDeps, 'dataSource' | 'client' | 'reconciler'>, accountId: string, runId: string): Promise<Cancelling> {
  const run = await q.findRun(deps.dataSource, accountId, runId);
  if (!run) throw new NotFoundError('run', ['runId']);
  if (run.external) throw new ConflictError('run was reported by an external executor; it cannot be cancelled here', ['runId']);
  const live = await deps.reconciler.reconcileOne(run);
  const status = presentedStatus(live);
  if (isTerminalRun(status)) throw new ConflictError(`run already ${status}`, ['runId']);
  if (await requestCancel(deps.client, run.workflowId ?? runWorkflowId(run.id))) return { id: run.publicId, status: 'cancelling' };
  // Not started yet: its batch skips it (or cancels it, if it started meanwhile).
  if (run.batchId && (await signalBatch(deps.client, run.batchId, run.id))) return { id: run.publicId, status: 'cancelling' };
  const after = presentedStatus(await deps.reconciler.reconcileOne(live.run));
  if (isTerminalRun(after)) throw new ConflictError(`run already ${after}`, ['runId']);
  throw new ConflictError('run has not started and its batch is not running', ['runId']);
}

/** Running workflow ids of a batch: `batch-<id>`, or a schedule-started one found by its search attribute. */
async function* batchWorkflows(client: Client, batchId: string): AsyncGenerator<string> {
  yield batchWorkflowId(batchId);
  for await (const wf of client.workflow.list({
    query: `BatchId = "${batchId}" AND WorkflowType = "${WorkflowTypes.batchRun}" AND ExecutionStatus = "Running"`,
  }))
    yield wf.workflowId;
}

async function signalBatch(client: Client, batchId: string, runId: string): Promise<boolean> {
  for await (const workflowId of batchWorkflows(client, batchId)) {
    try {
      await client.withDeadline(Date.now() + CANCEL_TIMEOUT_MS, () => client.workflow.getHandle(workflowId).signal(cancelRunsSignal, { runIds: [runId] }));
      return true;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw new UnavailableError('Temporal is not reachable right now; retry the cancellation');
    }
  }
  return false;
}

/** Errors name the batch as `batchId`. */
export async function cancelBatch(deps: Pick<RunDeps, 'dataSource' | 'client' | 'reconciler'>, accountId: string, batchId: string): Promise<Cancelling> {
  const batch = await q.findBatch(deps.dataSource, accountId, batchId);
  if (!batch) throw new NotFoundError('batch', ['batchId']);
  const runs = await deps.reconciler.reconcileMany(await q.findBatchRuns(deps.dataSource, batch.id));
  if (runs.length > 0 && runs.every((l) => isTerminalRun(presentedStatus(l)))) throw new ConflictError('batch already finished', ['batchId']);
  // A batch a schedule started (an agent run) has a time-suffixed workflow id, found by its search attribute.
  for await (const workflowId of batchWorkflows(deps.client, batch.id))
    if (await requestCancel(deps.client, workflowId)) return { id: batch.id, status: 'cancelling' };
  throw new ConflictError('batch workflow is not running', ['batchId']);
}
