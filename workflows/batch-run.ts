/**
 * One trigger: records the batch, then runs one child flow-run workflow per run, at most
 * `maxParallel` at a time. Cancelling the batch cancels its children and the runs not yet started;
 * the `cancelRuns` signal does the same for single runs. A batch started by a temporary schedule
 * (an agent run) deletes that schedule when it is done.
 */
import {
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  condition,
  executeChild,
  isCancellation,
  setHandler,
} from '@temporalio/workflow';
import type { BatchRunInput, FlowRunInput, RunResult } from '../domain/flow-types';
import type { RunStatus } from '../domain/statuses';
import { cancelRunsSignal, runWorkflowId } from './definitions';
import { flowRun } from './flow-run';
import { batchOutcome, notify } from './notify';
import { record } from './record';
import { ACCOUNT_ID, BATCH_ID, FLOW_ID, RUN_SOURCE } from './search-attributes';

export interface BatchResult {
  batchId: string;
  runs: { runId: string; status: RunStatus }[];
}

function statusOf(err: unknown): RunStatus {
  if (isCancellation(err)) return 'cancelled';
  const type = err instanceof ChildWorkflowFailure ? (err.cause as { type?: string } | undefined)?.type : undefined;
  return type === 'RunTimedOut' ? 'timed_out' : 'failed';
}

export async function batchRun(input: BatchRunInput): Promise<BatchResult> {
  await record.recordBatch(input);
  const results: (RunStatus | undefined)[] = input.runs.map(() => undefined);
  let next = 0;

  // Single runs cancelled by signal: a running child through its scope; one not started is skipped,
  // and recorded cancelled at once by the recorder below (which issues nothing unless signalled).
  const running = new Map<string, CancellationScope>();
  const skipped = new Set<string>();
  const toRecord: string[] = [];
  let lanesDone = false;
  setHandler(cancelRunsSignal, ({ runIds }) => {
    for (const runId of runIds) {
      const i = input.runs.findIndex((r) => r.runId === runId);
      if (i < 0 || results[i] !== undefined || skipped.has(runId)) continue;
      const scope = running.get(runId);
      if (scope) scope.cancel();
      else {
        skipped.add(runId);
        toRecord.push(runId);
      }
    }
  });
  const recorder = CancellationScope.nonCancellable(async () => {
    for (;;) {
      await condition(() => toRecord.length > 0 || lanesDone);
      if (toRecord.length === 0) return;
      await record.recordRunsCancelled({ runIds: toRecord.splice(0) });
    }
  });

  const runChild = async (run: FlowRunInput): Promise<RunStatus> => {
    const scope = new CancellationScope();
    running.set(run.runId, scope);
    try {
      const result: RunResult = await scope.run(() =>
        executeChild(flowRun, {
          workflowId: runWorkflowId(run.runId),
          args: [run],
          ...(run.taskQueue ? { taskQueue: run.taskQueue } : {}),
          typedSearchAttributes: [
            { key: FLOW_ID, value: run.flow.id },
            { key: BATCH_ID, value: input.batchId },
            { key: ACCOUNT_ID, value: input.accountId },
            { key: RUN_SOURCE, value: input.source },
          ],
        }),
      );
      return result.status;
    } catch (err) {
      return statusOf(err);
    } finally {
      running.delete(run.runId);
    }
  };

  const lane = async (): Promise<void> => {
    while (next < input.runs.length && !CancellationScope.current().consideredCancelled) {
      const i = next++;
      results[i] = skipped.has(input.runs[i].runId) ? 'cancelled' : await runChild(input.runs[i]);
    }
  };
  const lanes = Math.max(1, Math.min(input.maxParallel, input.runs.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  lanesDone = true;
  await recorder;

  const notStarted = input.runs.filter((_, i) => results[i] === undefined).map((r) => r.runId);
  if (notStarted.length > 0)
    await CancellationScope.nonCancellable(() => record.recordRunsCancelled({ runIds: notStarted }));

  const { deleteScheduleId } = input;
  if (deleteScheduleId) await CancellationScope.nonCancellable(() => record.deleteSchedule({ scheduleId: deleteScheduleId }));

  const statuses = input.runs.map((_, i) => results[i] ?? 'cancelled');
  await notify(`notify-batch-${input.batchId}`, input.accountId, input.runs[0]!.runId, input.notify, {
    event: 'batch.finished',
    batch_id: input.batchId,
    status: batchOutcome(statuses),
  });

  if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('batch cancelled');
  return { batchId: input.batchId, runs: input.runs.map((r, i) => ({ runId: r.runId, status: results[i] ?? 'cancelled' })) };
}
