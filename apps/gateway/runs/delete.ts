/**
 * Deleting a run: its workflow is stopped first — cancelled, and terminated if it does not close
 * in time — so no activity writes to rows about to be deleted.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { artifactKey, artifactStoreFor } from '../../../db/artifact-store';
import { RunEntity, type Run } from '../../../db/entities';
import { ConflictError, UnavailableError } from '../../../domain/errors';
import { isTerminalRun } from '../../../domain/statuses';
import { batchWorkflowId, runWorkflowId } from '../../../workflows/definitions';
import type { RunDeps } from '../deps';
import { presentedStatus } from './views';

/** How long a cancelled workflow gets to record its end before it is terminated. */
const STOP_GRACE_MS = 10_000;
const TEMPORAL_CALL_MS = 5_000;
const POLL_MS = 150;

const unreachable = () => new UnavailableError('Temporal is not reachable right now; nothing was deleted, retry');

/** Runs a Temporal call with a deadline; false when the workflow does not exist. */
async function call(client: Client, fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await client.withDeadline(Date.now() + TEMPORAL_CALL_MS, fn);
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw unreachable();
  }
}

async function isRunning(client: Client, workflowId: string): Promise<boolean> {
  let running = false;
  await call(client, async () => {
    running = (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  });
  return running;
}

/**
 * The batch's workflow when the run is its only one (that also stops a run not started yet),
 * else the run's own; a run that never started inside a batch still running is the batch's to cancel.
 */
async function stopRun(deps: RunDeps, run: Run, noun: string): Promise<void> {
  if (isTerminalRun(presentedStatus(await deps.reconciler.reconcileOne(run)))) return;
  const { client } = deps;
  const own = run.workflowId ?? runWorkflowId(run.id);
  const sole = run.batchId !== null && (await deps.dataSource.getRepository(RunEntity).countBy({ batchId: run.batchId })) === 1;
  const candidates = sole && run.batchId ? [batchWorkflowId(run.batchId), own] : [own];
  let target: string | undefined;
  for (const id of candidates) {
    if (await call(client, () => client.workflow.getHandle(id).cancel())) {
      target = id;
      break;
    }
  }
  if (!target) {
    if (!sole && run.batchId && (await isRunning(client, batchWorkflowId(run.batchId))))
      throw new ConflictError(`${noun} has not started yet; cancel its batch ${run.batchId} first`, ['runId']);
    return;
  }
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Date.now() < deadline) {
    if (!(await isRunning(client, target))) return;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  await call(client, () => client.workflow.getHandle(target).terminate(`${noun} deleted through the API`));
}

/**
 * Stops the run's workflow, then deletes the run (steps, logs, requests, artifacts cascade), its
 * files in the artifact store, and its batch if left empty; false when it was already gone. `noun` is what the caller's surface calls a
 * run, for messages; errors name the run as `runId`.
 */
export async function deleteRun(deps: RunDeps, run: Run, noun: string): Promise<boolean> {
  if (!run.external) await stopRun(deps, run, noun);
  const deleted = await deps.projections.runDeleted(run);
  await artifactStoreFor(deps.config).removeAll(artifactKey('runs', run.id));
  return deleted;
}
