/**
 * The flow-run workflow's logic, with the activities replaced by in-memory fakes: the DAG walk,
 * parallel branches, `if`, endOnFail, timeouts, delays, approvals and the `progress` query.
 * Runs on the time-skipping test server when available, else on a local dev server in real
 * time, where the tests of long timers assert on the history instead of waiting (environment.ts).
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { FlowRunInput, RunResult } from '../../domain/flow-types';
import { approvalSignal } from '../../workflows/definitions';
import type { flowRun } from '../../workflows';
import { setUpWorkflowTests, type WorkflowTestEnvironment } from './environment';
import { fakeActivities, type FakeActivities, type FakeOptions } from './fake-activities';
import { eventsOf, flowOf, installTestRuntime, progressUntil, runInput, statusesOf, timersOf, uid, until } from './helpers';

installTestRuntime();

let t: WorkflowTestEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

setUpWorkflowTests((env, bundle) => {
  t = env;
  workflowBundle = bundle;
});

const DAY = 24 * 3_600_000;

interface Ran {
  result?: RunResult;
  failure?: WorkflowFailedError;
  /** Real time from the start of the workflow to its end. */
  elapsedMs: number;
  handle: WorkflowHandle<typeof flowRun>;
}

/**
 * Runs a flow-run workflow on a worker of its own (own task queue) with `fakes` as its activities;
 * `during` acts on the open run (signals, queries, cancel) before its result is awaited.
 */
async function runFlow(input: FlowRunInput, fakes: FakeActivities, during?: (handle: WorkflowHandle<typeof flowRun>) => Promise<void>): Promise<Ran> {
  const taskQueue = uid('flow-run');
  const worker = await Worker.create({ connection: t.env.nativeConnection, taskQueue, workflowBundle, activities: fakes.activities });
  return worker.runUntil(async () => {
    const started = Date.now();
    const handle = await t.env.client.workflow.start<typeof flowRun>('flowRun', { taskQueue, workflowId: `run-${input.runId}`, args: [input] });
    await during?.(handle);
    try {
      return { result: await handle.result(), elapsedMs: Date.now() - started, handle };
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      return { failure: err, elapsedMs: Date.now() - started, handle };
    }
  });
}

const run = (steps: Record<string, unknown>[], options: FakeOptions & { configs?: Parameters<typeof flowOf>[1] } = {}) => {
  const fakes = fakeActivities(options);
  return { fakes, input: runInput(flowOf(steps, options.configs)) };
};

/** A run of a batch that succeeded: it ended without a failure, and with no result. */
function expectSucceeded(ran: Ran): void {
  expect(ran.failure).toBeUndefined();
  expect(ran.result).toBeUndefined();
}

function expectFailure(ran: Ran, type: string, message: string | RegExp): void {
  expect(ran.failure).toBeInstanceOf(WorkflowFailedError);
  const cause = ran.failure?.cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe(type);
  expect(cause?.message).toMatch(message);
}

function expectCancelled(ran: Ran): void {
  expect(ran.failure).toBeInstanceOf(WorkflowFailedError);
  expect(ran.failure?.cause).toBeInstanceOf(CancelledFailure);
}

describe('flowRun: the DAG walk', () => {
  it('when a step has no dependsOn, then it waits for the previous step; when dependsOn is [], then it starts at once', async () => {
    const { fakes, input } = run(
      [
        { id: 'a', type: 'http', config: { url: 'http://127.0.0.1:9/a' } },
        { id: 'b', type: 'transform', config: { expression: '1' } },
        { id: 'c', type: 'http', dependsOn: [], config: { url: 'http://127.0.0.1:9/c' } },
        { id: 'd', type: 'transform', dependsOn: ['b', 'c'], config: { expression: '2' } },
      ],
      { steps: { a: { ms: 600, output: 'A' }, b: { output: 'B' }, c: { ms: 50, output: 'C' }, d: { output: 'D' } } },
    );
    const ran = await runFlow(input, fakes);

    // A run of a batch (no ancestry) ends with no result when it succeeds: its record holds the outputs (a sub-flow's are in sub-flows.test.ts).
    expectSucceeded(ran);
    const span = (k: string) => fakes.spans.get(k)!;
    expect([...fakes.stepCalls.slice(0, 2)].sort()).toEqual(['a', 'c']);
    expect(fakes.stepCalls.slice(2)).toEqual(['b', 'd']);
    expect(span('c').start).toBeLessThan(span('a').end!);
    expect(span('b').start).toBeGreaterThanOrEqual(span('a').end!);
    expect(span('d').start).toBeGreaterThanOrEqual(Math.max(span('b').end!, span('c').end!));
    expect(span('d').scope.steps).toMatchObject({ a: { status: 'succeeded', output: 'A' }, b: { status: 'succeeded', output: 'B' }, c: { status: 'succeeded', output: 'C' } });
    const finished = fakes.onlyFinished();
    expect(finished).toMatchObject({ status: 'succeeded', error: null, outputs: { a: 'A', b: 'B', c: 'C', d: 'D' } });
    expect(finished.steps.map((s) => [s.id, s.position, s.status])).toEqual([
      ['a', 0, 'succeeded'],
      ['b', 1, 'succeeded'],
      ['c', 2, 'succeeded'],
      ['d', 3, 'succeeded'],
    ]);
  });

  it('when two branches both start at once, then their steps really overlap in time', async () => {
    const { fakes, input } = run(
      [
        { id: 'left', type: 'http', dependsOn: [], config: { url: 'http://127.0.0.1:9/l' } },
        { id: 'right', type: 'http', dependsOn: [], config: { url: 'http://127.0.0.1:9/r' } },
        { id: 'join', type: 'transform', dependsOn: ['left', 'right'], config: { expression: '1' } },
      ],
      { steps: { left: { ms: 700 }, right: { ms: 700 } } },
    );
    const ran = await runFlow(input, fakes);

    expectSucceeded(ran);
    const [l, r] = [fakes.spans.get('left')!, fakes.spans.get('right')!];
    const overlapMs = Math.min(l.end!, r.end!) - Math.max(l.start, r.start);
    expect(overlapMs).toBeGreaterThan(400);
    expect(fakes.spans.get('join')!.start).toBeGreaterThanOrEqual(Math.max(l.end!, r.end!));
  });

  it('when an `if` is false, then the step is skipped and the steps depending only on skipped steps are skipped too', async () => {
    const { fakes, input } = run(
      [
        { id: 'gate', type: 'transform', config: { expression: '1' } },
        { id: 'never', type: 'http', if: 'steps.gate.output = 2', config: { url: 'http://127.0.0.1:9/never' } },
        { id: 'after-never', type: 'transform', dependsOn: ['never'], config: { expression: '1' } },
        { id: 'mixed', type: 'transform', dependsOn: ['gate', 'never'], config: { expression: '1' } },
        { id: 'pause', type: 'delay', dependsOn: ['gate'], if: 'false', config: { durationMs: 60_000 } },
        { id: 'after-pause', type: 'transform', dependsOn: ['pause'], config: { expression: '1' } },
      ],
      { conditions: { 'steps.gate.output = 2': false, false: false } },
    );
    const ran = await runFlow(input, fakes);

    expectSucceeded(ran);
    const finished = fakes.onlyFinished();
    expect(statusesOf(finished.steps)).toEqual({
      gate: 'succeeded',
      never: 'skipped',
      'after-never': 'skipped',
      mixed: 'succeeded',
      pause: 'skipped',
      'after-pause': 'skipped',
    });
    expect(fakes.stepCalls).not.toContain('after-never');
    expect(fakes.stepCalls).not.toContain('after-pause');
    expect(fakes.spans.has('never')).toBe(false);
    const never = finished.steps.find((s) => s.id === 'never')!;
    expect([never.startedAt, never.finishedAt, never.durationMs]).toEqual([undefined, undefined, undefined]);
    expect(Object.keys(finished.outputs as object).sort()).toEqual(['gate', 'mixed']);
    expect(await timersOf(ran.handle)).toEqual([]);
  });

  it('when a suite auth flow runs first, then its outputs reach the flow as auth.*; when it fails, then the flow steps are skipped', async () => {
    const auth = flowOf([{ id: 'login', type: 'http', config: { url: 'http://127.0.0.1:9/login' } }]);
    const steps = [{ id: 'call', type: 'http', config: { url: 'http://127.0.0.1:9/me' } }];

    const ok = fakeActivities({ steps: { 'auth.login': { output: { token: 't-1' } } } });
    const okInput = runInput(flowOf(steps), { authFlow: auth });
    const passed = await runFlow(okInput, ok);
    expectSucceeded(passed);
    expect(ok.stepCalls).toEqual(['auth.login', 'call']);
    expect(ok.spans.get('call')!.scope.auth).toEqual({ login: { status: 'succeeded', output: { token: 't-1' } } });
    expect(ok.onlyFinished().steps.map((s) => [s.id, s.position])).toEqual([
      ['auth.login', 0],
      ['call', 1],
    ]);
    expect(ok.onlyFinished().outputs).toEqual({ call: { step: 'call' } });

    const bad = fakeActivities({ steps: { 'auth.login': { fail: 'HTTP 401' } } });
    const failed = await runFlow(runInput(flowOf(steps), { authFlow: auth }), bad);
    expectFailure(failed, 'RunFailed', 'login: HTTP 401');
    expect(bad.stepCalls).toEqual(['auth.login']);
    expect(bad.onlyFinished().steps.find((s) => s.id === 'call')).toMatchObject({ status: 'skipped', error: 'the suite auth flow failed' });
  });
});

describe('flowRun: failures', () => {
  it('when a step fails with endOnFail true, then the in-flight sibling is cancelled, the steps not started are skipped and the run fails naming the step', async () => {
    const { fakes, input } = run(
      [
        { id: 'slow', type: 'http', dependsOn: [], config: { url: 'http://127.0.0.1:9/slow' } },
        { id: 'bad', name: 'Bad call', type: 'http', dependsOn: [], config: { url: 'http://127.0.0.1:9/bad' } },
        { id: 'after-slow', type: 'transform', dependsOn: ['slow'], config: { expression: '1' } },
        { id: 'after-bad', type: 'transform', dependsOn: ['bad'], config: { expression: '1' } },
      ],
      { configs: { endOnFail: true }, steps: { slow: { ms: 8_000 }, bad: { ms: 100, fail: 'GET /bad answered 500' } } },
    );
    const ran = await runFlow(input, fakes);

    expectFailure(ran, 'RunFailed', 'Bad call: GET /bad answered 500');
    expect(ran.elapsedMs).toBeLessThan(6_000);
    const finished = fakes.onlyFinished();
    expect(finished.status).toBe('failed');
    expect(finished.error).toEqual({ step: 'Bad call', message: 'GET /bad answered 500' });
    expect(statusesOf(finished.steps)).toEqual({ slow: 'cancelled', bad: 'failed', 'after-slow': 'skipped', 'after-bad': 'skipped' });
    expect(finished.steps.find((s) => s.id === 'bad')).toMatchObject({ attempts: 1, error: 'GET /bad answered 500' });
    expect(fakes.stepCalls.sort()).toEqual(['bad', 'slow']);
    const events = await eventsOf(ran.handle);
    expect(events.filter((e) => e.activityTaskCancelRequestedEventAttributes)).toHaveLength(1);
  });

  it('when a step fails with endOnFail false, then the independent branch goes on and the run still fails', async () => {
    const { fakes, input } = run(
      [
        { id: 'bad', type: 'http', dependsOn: [], config: { url: 'http://127.0.0.1:9/bad' } },
        { id: 'after-bad', type: 'transform', dependsOn: ['bad'], config: { expression: '1' } },
        { id: 'good', type: 'http', dependsOn: [], config: { url: 'http://127.0.0.1:9/good' } },
        { id: 'after-good', type: 'transform', dependsOn: ['good'], config: { expression: '1' } },
      ],
      { configs: { endOnFail: false }, steps: { bad: { fail: 'GET /bad answered 404' }, good: { ms: 500 } } },
    );
    const ran = await runFlow(input, fakes);

    expectFailure(ran, 'RunFailed', 'bad: GET /bad answered 404');
    const finished = fakes.onlyFinished();
    expect(statusesOf(finished.steps)).toEqual({ bad: 'failed', 'after-bad': 'skipped', good: 'succeeded', 'after-good': 'succeeded' });
    expect(finished.steps.find((s) => s.id === 'after-bad')?.error).toBe('a step it depends on did not succeed');
    expect(fakes.spans.get('after-good')!.start).toBeGreaterThan(fakes.spans.get('bad')!.end!);
    expect(finished.error).toEqual({ step: 'bad', message: 'GET /bad answered 404' });
  });

  it('when the flow outlives configs.timeoutMs, then the running step is cancelled and the run is timed_out', async () => {
    const { fakes, input } = run(
      [
        { id: 'long', type: 'http', config: { url: 'http://127.0.0.1:9/long' } },
        { id: 'next', type: 'transform', config: { expression: '1' } },
      ],
      { configs: { timeoutMs: 1_000 }, steps: { long: { ms: 8_000 } } },
    );
    const ran = await runFlow(input, fakes);

    expectFailure(ran, 'RunTimedOut', 'flow timed out after 1000ms');
    expect(ran.elapsedMs).toBeLessThan(6_000);
    const finished = fakes.onlyFinished();
    expect(finished.status).toBe('timed_out');
    expect(finished.error).toEqual({ step: 'long', message: 'flow timed out after 1000ms' });
    expect(statusesOf(finished.steps)).toEqual({ long: 'cancelled', next: 'cancelled' });
  });
});

describe('flowRun: timers', () => {
  it('when a delay of 3 days runs, then a 3-day durable timer holds the run (completed by time skipping, else cancelled once seen)', async () => {
    const { fakes, input } = run([
      { id: 'wait', type: 'delay', config: { durationMs: 3 * DAY } },
      { id: 'after', type: 'transform', config: { expression: '1' } },
    ]);

    if (t.supportsTimeSkipping) {
      const ran = await runFlow(input, fakes);
      expectSucceeded(ran);
      expect(ran.elapsedMs).toBeLessThan(30_000);
      expect(fakes.onlyFinished().steps.find((s) => s.id === 'wait')).toMatchObject({ status: 'succeeded', output: { delayedMs: 3 * DAY } });
      expect(await timersOf(ran.handle)).toEqual([3 * DAY]);
      return;
    }
    const ran = await runFlow(input, fakes, async (handle) => {
      await until('the 3-day timer', () => timersOf(handle), (ms) => ms.includes(3 * DAY));
      const progress = await handle.query<{ status: string; steps: { id: string; status: string }[] }>('progress');
      expect(progress.status).toBe('running');
      expect(statusesOf(progress.steps)).toEqual({ wait: 'running', after: 'queued' });
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await handle.cancel();
    });
    expectCancelled(ran);
    const finished = fakes.onlyFinished();
    expect(finished.status).toBe('cancelled');
    expect(statusesOf(finished.steps)).toEqual({ wait: 'cancelled', after: 'cancelled' });
    expect(fakes.stepCalls).toEqual(['wait']);
  });

  it('when a 1-day flow timeout is shorter than a 2-day approval timeout, then the run times out after 1 day (or holds both timers, without time skipping)', async () => {
    const { fakes, input } = run([{ id: 'review', type: 'approval', config: { message: 'ship?', timeoutMs: 2 * DAY } }], { configs: { timeoutMs: DAY } });

    if (t.supportsTimeSkipping) {
      const ran = await runFlow(input, fakes);
      expectFailure(ran, 'RunTimedOut', `flow timed out after ${DAY}ms`);
      expect(fakes.onlyFinished().steps[0]).toMatchObject({ id: 'review', status: 'cancelled' });
      return;
    }
    const ran = await runFlow(input, fakes, async (handle) => {
      await until('both timers', () => timersOf(handle), (ms) => ms.includes(DAY) && ms.includes(2 * DAY));
      expect((await progressUntil(handle, (p) => p.status === 'waiting')).steps[0].status).toBe('waiting');
      await handle.cancel();
    });
    expectCancelled(ran);
    expect(fakes.onlyFinished()).toMatchObject({ status: 'cancelled', error: { step: 'review', message: 'run cancelled' } });
  });
});

describe('flowRun: approvals', () => {
  const approvalFlow = (config: Record<string, unknown> = { message: 'ship it?' }) =>
    run([
      { id: 'review', type: 'approval', config },
      { id: 'after', type: 'transform', config: { expression: 'steps.review.output.approved' } },
    ]);

  it('when a reviewer approves through the approval signal, then the run goes from waiting to succeeded and the decision is the step output', async () => {
    const { fakes, input } = approvalFlow();
    const ran = await runFlow(input, fakes, async (handle) => {
      const waiting = await progressUntil(handle, (p) => p.status === 'waiting');
      expect(statusesOf(waiting.steps)).toEqual({ review: 'waiting', after: 'queued' });
      await handle.signal(approvalSignal, { stepId: 'review', approved: true, reviewer: 'ann', comment: 'lgtm' });
    });

    expectSucceeded(ran);
    const review = fakes.onlyFinished().steps.find((s) => s.id === 'review');
    expect(review).toMatchObject({ status: 'succeeded', output: { approved: true, reviewer: 'ann', comment: 'lgtm' } });
    expect(fakes.spans.get('after')!.scope.steps.review).toEqual({ status: 'succeeded', output: { approved: true, reviewer: 'ann', comment: 'lgtm' } });
    const runStatuses = fakes.calls
      .filter((c) => c.name === 'recordSteps')
      .map((c) => (c.input as { runStatus?: string }).runStatus)
      .filter(Boolean);
    expect(runStatuses).toEqual(['waiting', 'running']);
  });

  it('when a reviewer rejects, then the approval step fails with the reviewer and comment and its dependents are skipped', async () => {
    const { fakes, input } = approvalFlow();
    const ran = await runFlow(input, fakes, async (handle) => {
      await progressUntil(handle, (p) => p.status === 'waiting');
      await handle.signal(approvalSignal, { stepId: 'review', approved: false, reviewer: 'bob', comment: 'not today' });
    });

    expectFailure(ran, 'RunFailed', 'review: rejected by bob: not today');
    const finished = fakes.onlyFinished();
    expect(finished.error).toEqual({ step: 'review', message: 'rejected by bob: not today' });
    expect(statusesOf(finished.steps)).toEqual({ review: 'failed', after: 'skipped' });
  });

  it('when an approval with timeoutMs gets no decision in time, then the step fails with "no decision" and the run fails', async () => {
    const { fakes, input } = approvalFlow({ message: 'anyone?', timeoutMs: 1_000 });
    const ran = await runFlow(input, fakes);

    expectFailure(ran, 'RunFailed', 'review: no decision within 1000ms');
    expect(statusesOf(fakes.onlyFinished().steps)).toEqual({ review: 'failed', after: 'skipped' });
    expect(await timersOf(ran.handle)).toEqual([1_000]);
  });
});

describe('flowRun: the progress query', () => {
  it('when a run is in flight and after it ends, then progress shows each step as it stands and the run status', async () => {
    const { fakes, input } = run(
      [
        { id: 'first', type: 'transform', config: { expression: '1' } },
        { id: 'second', type: 'http', config: { url: 'http://127.0.0.1:9/second' } },
        { id: 'third', type: 'transform', config: { expression: '3' } },
      ],
      { steps: { first: { output: 1 }, second: { ms: 1_500 } } },
    );
    const ran = await runFlow(input, fakes, async (handle) => {
      const mid = await progressUntil(handle, (p) => p.steps[1]?.status === 'running');
      expect(mid.runId).toBe(input.runId);
      expect(mid.status).toBe('running');
      expect(mid.error).toBeNull();
      expect(mid.steps.map((s) => [s.id, s.status])).toEqual([
        ['first', 'succeeded'],
        ['second', 'running'],
        ['third', 'queued'],
      ]);
      expect(mid.steps[0]).toMatchObject({ output: 1, attempts: 1 });
      expect(mid.steps[1].startedAt).toEqual(expect.any(String));
      await handle.result();
      const end = await handle.query<{ status: string; steps: { id: string; status: string }[] }>('progress');
      expect(end.status).toBe('succeeded');
      expect(statusesOf(end.steps)).toEqual({ first: 'succeeded', second: 'succeeded', third: 'succeeded' });
    });
    expectSucceeded(ran);
  });
});
