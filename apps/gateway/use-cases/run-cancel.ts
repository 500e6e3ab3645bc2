/**
 * Cancelling a run or a batch is a Temporal cancellation request, nothing more: the workflow
 * records the cancellation in its own projections, and the reconciler covers the gap until then.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { isTerminalRun } from '../../../domain/statuses';
import { batchWorkflowId, runWorkflowId } from '../../../workflows/definitions';
import { conflict, HttpError, notFound } from '../http/errors';
import { presentedStatus } from './run-views';
import type { RunReconciler } from './reconcile';
import * as q from './run-queries';

export interface RunCancelDeps {
  dataSource: DataSource;
  client: Client;
  reconciler: RunReconciler;
}

export interface Cancelling {
  id: string;
  status: 'cancelling';
}

const CANCEL_TIMEOUT_MS = 5000;

/** Returns false when the workflow does not exist (never started, or closed and gone). */
async function requestCancel(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.withDeadline(Date.now() + CANCEL_TIMEOUT_MS, () => client.workflow.getHandle(workflowId).cancel());
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw new HttpError(503, 'Temporal is not reachable right now; retry the cancellation');
  }
}

export async function cancelRun(deps: RunCancelDeps, accountId: string, runId: string): Promise<Cancelling> {
  const run = await q.findRun(deps.dataSource, accountId, runId);
  if (!run) throw notFound('run', ['path', 'runId']);
  if (run.external) throw conflict('run was reported by an external executor; it cannot be cancelled here', ['path', 'runId']);
  const live = await deps.reconciler.reconcileOne(run);
  const status = presentedStatus(live);
  if (isTerminalRun(status)) throw conflict(`run already ${status}`, ['path', 'runId']);
  if (await requestCancel(deps.client, run.workflowId ?? runWorkflowId(run.id))) return { id: run.id, status: 'cancelling' };
  const after = presentedStatus(await deps.reconciler.reconcileOne(live.run));
  if (isTerminalRun(after)) throw conflict(`run already ${after}`, ['path', 'runId']);
  throw conflict(
    run.batchId ? `run has not started yet; cancel its batch ${run.batchId} instead` : 'run has not started yet',
    ['path', 'runId'],
  );
}

export async function cancelBatch(deps: RunCancelDeps, accountId: string, batchId: string): Promise<Cancelling> {
  const batch = await q.findBatch(deps.dataSource, accountId, batchId);
  if (!batch) throw notFound('batch', ['path', 'batchId']);
  const runs = await deps.reconciler.reconcileMany(await q.findBatchRuns(deps.dataSource, batch.id));
  if (runs.length > 0 && runs.every((l) => isTerminalRun(presentedStatus(l))))
    throw conflict('batch already finished', ['path', 'batchId']);
  if (await requestCancel(deps.client, batchWorkflowId(batch.id))) return { id: batch.id, status: 'cancelling' };
  // A batch a schedule started (an agent run) has a time-suffixed workflow id: find it by its search attribute.
  for await (const wf of deps.client.workflow.list({
    query: `BatchId = "${batch.id}" AND WorkflowType = "batchRun" AND ExecutionStatus = "Running"`,
  }))
    if (await requestCancel(deps.client, wf.workflowId)) return { id: batch.id, status: 'cancelling' };
  throw conflict('batch workflow is not running', ['path', 'batchId']);
}
