/**
 * One trigger: records the batch, then runs one child flow-run workflow per run, at most
 * `maxParallel` at a time. Cancelling the batch cancels its children and the runs not yet started;
 * the `cancelRuns` signal does the same for single runs. A batch started by a temporary schedule
 * (an agent run) deletes that schedule when it is done. A large batch (one with a `plan`) runs its
 * runs in chunk workflows one after another, so no history grows with the size of the batch.
 */
import {
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  condition,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { plannedAt, planSlice } from '../domain/batch-plan';
import { type BatchChildInput, type BatchPlan, type BatchRunInput, type FlowRunInput, type FlowRunRef } from '../domain/flow-types';
import type { RunStatus } from '../domain/statuses';
import { batchChunkWorkflowId, cancelRunsSignal, runWorkflowId } from './definitions';
import { flowRun } from './flow-run';
import { batchOutcome, notify } from './notify';
import { localRecord, record } from './record';
import type { BatchResult } from './contract';
import { RunSlots } from './run-slot';
import { ACCOUNT_ID, BATCH_ID, FLOW_ID, inheritedLabels, RUN_SOURCE } from './search-attributes';
import { plainSummary, runSummary } from './summaries';

type Batch = Pick<BatchRunInput, 'batchId' | 'accountId' | 'source' | 'maxParallel'>;
type ChildRun = FlowRunInput | FlowRunRef;

function statusOf(err: unknown): RunStatus {
  if (isCancellation(err)) return 'cancelled';
  const type = err instanceof ChildWorkflowFailure ? (err.cause as { type?: string } | undefined)?.type : undefined;
  return type === 'RunTimedOut' ? 'timed_out' : 'failed';
}

const flowIdOf = (run: ChildRun): string => ('flowRef' in run ? run.flowRef.id : run.flow.id);

/** What a run's workflow is started with: a whole run without what its id and search attributes say (BatchChildInput); a run by reference as it is. */
function childInput(run: ChildRun): BatchChildInput | FlowRunRef {
  if ('flowRef' in run) return run;
  const { runId: _r, batchId: _b, accountId: _a, source: _s, ...rest } = run;
  return rest;
}

/**
 * Runs `runs` as child workflows, at most `batch.maxParallel` at once, the ones in `skip` not at
 * all; the `cancelRuns` signal cancels single runs (a running one through its scope, one not started
 * is skipped and recorded cancelled). The statuses in the order of `runs`; undefined for the runs
 * that never started (the batch was cancelled first), which the caller records.
 */
async function runChildren(batch: Batch, runs: ChildRun[], skip: readonly string[] = []): Promise<(RunStatus | undefined)[]> {
  const results: (RunStatus | undefined)[] = runs.map(() => undefined);
  let next = 0;
  const slots = new RunSlots(batch.accountId);

  const running = new Map<string, CancellationScope>();
  const skipped = new Set<string>(skip);
  const toRecord: string[] = runs.filter((r) => skipped.has(r.runId)).map((r) => r.runId);
  let lanesDone = false;
  setHandler(cancelRunsSignal, ({ runIds }) => {
    for (const runId of runIds) {
      const i = runs.findIndex((r) => r.runId === runId);
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

  const runChild = async (run: ChildRun): Promise<RunStatus> => {
    const scope = new CancellationScope();
    running.set(run.runId, scope);
    let started = false;
    try {
      if (!(await scope.run(() => slots.take(run.runId)))) return 'cancelled';
      started = true;
      const result = await scope.run(() =>
        executeChild(flowRun, {
          workflowId: runWorkflowId(run.runId),
          args: [childInput(run)],
          ...(run.taskQueue ? { taskQueue: run.taskQueue } : {}),
          staticSummary: runSummary(run),
          typedSearchAttributes: [
            { key: FLOW_ID, value: flowIdOf(run) },
            { key: BATCH_ID, value: batch.batchId },
            { key: ACCOUNT_ID, value: batch.accountId },
            { key: RUN_SOURCE, value: batch.source },
            ...inheritedLabels(workflowInfo().typedSearchAttributes),
          ],
        }),
      );
      // A batch's run ends with no result when it succeeds (every other end throws).
      return result?.status ?? 'succeeded';
    } catch (err) {
      // Cancelled while it waited for its slot: it never started, and its batch records it.
      if (!started && isCancellation(err)) toRecord.push(run.runId);
      return statusOf(err);
    } finally {
      running.delete(run.runId);
    }
  };

  const lane = async (): Promise<void> => {
    while (next < runs.length && !CancellationScope.current().consideredCancelled) {
      const i = next++;
      results[i] = skipped.has(runs[i].runId) ? 'cancelled' : await runChild(runs[i]);
    }
  };
  const lanes = Math.max(1, Math.min(batch.maxParallel, runs.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  slots.close();
  lanesDone = true;
  await recorder;
  return results;
}

/** Records the runs that never started as cancelled; they are the batch's runs without a status. */
async function recordNotStarted(runs: readonly { runId: string }[], results: readonly (RunStatus | undefined)[]): Promise<void> {
  const notStarted = runs.filter((_, i) => results[i] === undefined).map((r) => r.runId);
  if (notStarted.length > 0) await CancellationScope.nonCancellable(() => record.recordRunsCancelled({ runIds: notStarted }));
}

/** Input of one chunk of a large batch: the runs at positions [from, to) of its plan. */
export interface BatchChunkInput extends Batch {
  from: number;
  to: number;
  plan: BatchPlan;
  /** Runs cancelled by signal before this chunk started. */
  skip: string[];
}

/** Runs positions [from, to) of a large batch: their ids from their rows, their flows by reference. */
export async function batchChunk(input: BatchChunkInput): Promise<BatchResult['runs']> {
  const ids = await record.batchRunIds({ batchId: input.batchId, from: input.from, to: input.to });
  const runs: FlowRunRef[] = ids.map(({ runId, publicId }, i) => {
    const position = input.from + i;
    const { flow, variables } = plannedAt(input.plan, position);
    return {
      runId,
      ...(publicId !== runId ? { publicId } : {}),
      batchId: input.batchId,
      accountId: input.accountId,
      source: input.source,
      position,
      flowRef: { id: flow.flowId, version: flow.flowVersion },
      flowVersion: flow.flowVersion,
      variables,
      trigger: input.plan.trigger,
      ...(flow.secrets?.length ? { secrets: flow.secrets } : {}),
      ...(flow.suiteId ? { suiteId: flow.suiteId } : {}),
      ...(flow.authFlow ? { authFlowRef: flow.authFlow } : {}),
      ...(flow.agent ? { agent: flow.agent } : {}),
      ...(flow.endOnFail !== undefined ? { endOnFail: flow.endOnFail } : {}),
    };
  });
  const results = await runChildren(input, runs, input.skip);
  await recordNotStarted(runs, results);
  return runs.map((r, i) => ({ runId: r.runId, status: results[i] ?? 'cancelled' }));
}

/**
 * A large batch: its chunks one after another, each a child workflow. A `cancelRuns` signal goes on
 * to the chunk running and is kept for the chunks to come; runs of chunks never started (the batch
 * was cancelled) are recorded cancelled by position.
 */
async function runPlan(input: BatchRunInput, plan: BatchPlan): Promise<BatchResult['runs']> {
  const skipped: string[] = [];
  let current: string | undefined;
  setHandler(cancelRunsSignal, ({ runIds }) => {
    skipped.push(...runIds);
    if (current) void getExternalWorkflowHandle(current).signal(cancelRunsSignal, { runIds }).catch(() => undefined);
  });
  const done: BatchResult['runs'] = [];
  for (let from = 0; from < plan.total && !CancellationScope.current().consideredCancelled; from += plan.chunkRuns) {
    const to = Math.min(plan.total, from + plan.chunkRuns);
    current = batchChunkWorkflowId(input.batchId, from / plan.chunkRuns);
    try {
      done.push(
        ...(await executeChild(batchChunk, {
          workflowId: current,
          args: [{ batchId: input.batchId, accountId: input.accountId, source: input.source, maxParallel: input.maxParallel, from, to, plan: planSlice(plan, from, to), skip: [...skipped] }],
          staticSummary: plainSummary(`batch ${input.batchId} · runs ${from + 1}-${to} of ${plan.total}`),
          typedSearchAttributes: [
            { key: BATCH_ID, value: input.batchId },
            { key: ACCOUNT_ID, value: input.accountId },
            { key: RUN_SOURCE, value: input.source },
            ...inheritedLabels(workflowInfo().typedSearchAttributes),
          ],
        })),
      );
    } catch (err) {
      if (!isCancellation(err)) throw err;
      break;
    } finally {
      current = undefined;
    }
  }
  if (done.length < plan.total)
    await CancellationScope.nonCancellable(() => record.recordQueuedRunsCancelled({ batchId: input.batchId, from: done.length }));
  return done;
}

export async function batchRun(input: BatchRunInput): Promise<BatchResult> {
  await localRecord.recordBatch(input);
  let runs: BatchResult['runs'];
  // A plan stands in for the runs only when they were left out (domain/batch-plan.ts workflowInput).
  if (input.plan && input.runs.length === 0) runs = await runPlan(input, input.plan);
  else {
    const results = await runChildren(input, input.runs);
    await recordNotStarted(input.runs, results);
    runs = input.runs.map((r, i) => ({ runId: r.runId, status: results[i] ?? 'cancelled' }));
  }

  const { deleteScheduleId } = input;
  if (deleteScheduleId) await CancellationScope.nonCancellable(() => record.deleteSchedule({ scheduleId: deleteScheduleId }));

  const firstRunId = runs[0]?.runId ?? input.runs[0]?.runId;
  if (firstRunId)
    await notify(`notify-batch-${input.batchId}`, input.accountId, firstRunId, input.notify, {
      event: 'batch.finished',
      batch_id: input.batchId,
      status: batchOutcome(runs.map((r) => r.status)),
    });

  if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('batch cancelled');
  return { batchId: input.batchId, runs };
}
