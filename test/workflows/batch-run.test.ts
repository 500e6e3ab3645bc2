/**
 * The batch-run workflow's logic with fake activities: one flow-run child per run, at most
 * `maxParallel` at once, child outcomes mapped to run statuses, cancellation of the runs not
 * started, and the temporary schedule deleted at the end.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { BatchRunInput, FlowRunInput } from '../../domain/flow-types';
import type { batchRun } from '../../workflows';
import { setUpWorkflowTests, type WorkflowTestEnvironment } from './environment';
import { fakeActivities, type FakeActivities } from './fake-activities';
import { flowOf, installTestRuntime, progressUntil, runInput, uid, until } from './helpers';

installTestRuntime();

let t: WorkflowTestEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

setUpWorkflowTests((env, bundle) => {
  t = env;
  workflowBundle = bundle;
});

function batchInput(runs: FlowRunInput[], extra: Partial<BatchRunInput> = {}): BatchRunInput {
  const batchId = uid('batch');
  return {
    batchId,
    accountId: 'account-test',
    source: 'ci',
    maxParallel: 10,
    meta: { actor: null, appId: null, buildId: null, browser: null, tags: [], idempotencyKey: null, requestHash: null },
    runs: runs.map((r, position) => ({ ...r, batchId, position })),
    ...extra,
  };
}

const inputsOf = (fakes: FakeActivities, name: string) => fakes.calls.filter((c) => c.name === name).map((c) => c.input);

describe('batchRun', () => {
  it('when three runs go with maxParallel 2, then at most two children run at once and each child outcome becomes its run status', async () => {
    const fakes = fakeActivities({ steps: { one: { ms: 800 }, two: { ms: 800, fail: 'GET /two answered 500' }, three: { ms: 5_000 } } });
    const runs = [
      runInput(flowOf([{ id: 'one', type: 'http', config: { url: 'http://127.0.0.1:9/one' } }])),
      runInput(flowOf([{ id: 'two', type: 'http', config: { url: 'http://127.0.0.1:9/two' } }])),
      runInput(flowOf([{ id: 'three', type: 'http', config: { url: 'http://127.0.0.1:9/three' } }], { timeoutMs: 500 })),
    ];
    const input = batchInput(runs, { maxParallel: 2, deleteScheduleId: 'schedule-once' });
    const taskQueue = uid('batch-run');
    const worker = await Worker.create({ connection: t.env.nativeConnection, taskQueue, workflowBundle, activities: fakes.activities });

    const result = await worker.runUntil(t.env.client.workflow.execute<typeof batchRun>('batchRun', { taskQueue, workflowId: `batch-${input.batchId}`, args: [input] }));

    expect(result).toEqual({
      batchId: input.batchId,
      runs: [
        { runId: runs[0].runId, status: 'succeeded' },
        { runId: runs[1].runId, status: 'failed' },
        { runId: runs[2].runId, status: 'timed_out' },
      ],
    });
    const [one, two, three] = ['one', 'two', 'three'].map((k) => fakes.spans.get(k)!);
    expect(Math.min(one.end!, two.end!) - Math.max(one.start, two.start)).toBeGreaterThan(400);
    expect(three.start).toBeGreaterThanOrEqual(Math.min(one.end!, two.end!));
    expect(inputsOf(fakes, 'recordBatch')).toEqual([input]);
    // The two runs starting at once asked for their slots together; the third alone, when a lane freed.
    expect(inputsOf(fakes, 'waitForRunSlots').map((i) => (i as { runIds: string[] }).runIds)).toEqual([[runs[0].runId, runs[1].runId], [runs[2].runId]]);
    expect(inputsOf(fakes, 'recordRunsCancelled')).toEqual([]);
    expect(inputsOf(fakes, 'deleteSchedule')).toEqual([{ scheduleId: 'schedule-once' }]);
    expect([...fakes.finished.values()].map((f) => [f.runId, f.status])).toEqual(
      expect.arrayContaining([
        [runs[0].runId, 'succeeded'],
        [runs[1].runId, 'failed'],
        [runs[2].runId, 'timed_out'],
      ]),
    );
    const child = await t.env.client.workflow.getHandle(`run-${runs[0].runId}`).describe();
    expect(child.type).toBe('flowRun');
    expect(child.parentExecution?.workflowId).toBe(`batch-${input.batchId}`);
  });

  it('when a batch is cancelled while its first run waits, then that run is cancelled, the runs not started are recorded cancelled and the schedule is still deleted', async () => {
    const fakes = fakeActivities();
    const runs = [
      runInput(flowOf([{ id: 'review', type: 'approval', config: { message: 'ship?' } }])),
      runInput(flowOf([{ id: 'two', type: 'transform', config: { expression: '2' } }])),
      runInput(flowOf([{ id: 'three', type: 'transform', config: { expression: '3' } }])),
    ];
    const input = batchInput(runs, { maxParallel: 1, deleteScheduleId: 'schedule-cancelled' });
    const taskQueue = uid('batch-run');
    const worker = await Worker.create({ connection: t.env.nativeConnection, taskQueue, workflowBundle, activities: fakes.activities });

    const failure = await worker.runUntil(async () => {
      const handle = await t.env.client.workflow.start<typeof batchRun>('batchRun', { taskQueue, workflowId: `batch-${input.batchId}`, args: [input] });
      await progressUntil(t.env.client.workflow.getHandle(`run-${runs[0].runId}`), (p) => p.status === 'waiting');
      await handle.cancel();
      return handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
    });

    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(inputsOf(fakes, 'recordRunsCancelled')).toEqual([{ runIds: [runs[1].runId, runs[2].runId] }]);
    expect(inputsOf(fakes, 'deleteSchedule')).toEqual([{ scheduleId: 'schedule-cancelled' }]);
    expect(fakes.onlyFinished()).toMatchObject({ runId: runs[0].runId, status: 'cancelled' });
    expect(fakes.stepCalls).toEqual(['review']);
  });

  it('when the account has no free slot, then the run waits for one, asking again, and starts only once it is granted', async () => {
    const fakes = fakeActivities({ busySlotAsks: 3 });
    const runs = [runInput(flowOf([{ id: 'one', type: 'transform', config: { expression: '1' } }]))];
    const input = batchInput(runs);
    const taskQueue = uid('batch-run');
    const worker = await Worker.create({ connection: t.env.nativeConnection, taskQueue, workflowBundle, activities: fakes.activities });

    const result = await worker.runUntil(t.env.client.workflow.execute<typeof batchRun>('batchRun', { taskQueue, workflowId: `batch-${input.batchId}`, args: [input] }));

    expect(result.runs).toEqual([{ runId: runs[0].runId, status: 'succeeded' }]);
    const names = fakes.calls.map((c) => c.name);
    expect(inputsOf(fakes, 'waitForRunSlots')).toEqual([1, 2, 3, 4].map(() => ({ accountId: input.accountId, runIds: [runs[0].runId] })));
    expect(names.indexOf('executeStep')).toBeGreaterThan(names.lastIndexOf('waitForRunSlots'));
  });

  it('when a batch is cancelled while its run waits for a slot, then the run is recorded cancelled and never starts', async () => {
    const fakes = fakeActivities({ busySlotAsks: Number.POSITIVE_INFINITY });
    const runs = [runInput(flowOf([{ id: 'one', type: 'transform', config: { expression: '1' } }]))];
    const input = batchInput(runs);
    const taskQueue = uid('batch-run');
    const worker = await Worker.create({ connection: t.env.nativeConnection, taskQueue, workflowBundle, activities: fakes.activities });

    const failure = await worker.runUntil(async () => {
      const handle = await t.env.client.workflow.start<typeof batchRun>('batchRun', { taskQueue, workflowId: `batch-${input.batchId}`, args: [input] });
      await until('the run to wait for its slot', async () => inputsOf(fakes, 'waitForRunSlots').length, (n) => n >= 2);
      await handle.cancel();
      return handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
    });

    expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(inputsOf(fakes, 'recordRunsCancelled')).toEqual([{ runIds: [runs[0].runId] }]);
    expect(fakes.stepCalls).toEqual([]);
    await expect(t.env.client.workflow.getHandle(`run-${runs[0].runId}`).describe()).rejects.toThrow();
  });
});
