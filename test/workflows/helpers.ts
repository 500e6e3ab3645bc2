/** Inputs and history probes shared by the workflow-logic tests. */
import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { FlowConfigs, FlowDefinition, FlowRunInput, RunProgress, StepDefinition } from '../../domain/flow-types';

/**
 * Logs errors only, from the SDK and from its native core: failed and cancelled runs are what many
 * tests expect, and the worker would log each (and each activity that ends after its run) as a
 * warning. Must run before the test environment or any worker is created.
 */
export function installTestRuntime(): void {
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } } });
}

/** A unique id per call, so workflow ids and task queues never collide between tests or runs. */
export const uid = (prefix: string): string => `${prefix}-${randomBytes(5).toString('hex')}`;

/** A flow definition; steps are written as in the API (loosely typed, like a request body). */
export function flowOf(steps: Record<string, unknown>[], configs: FlowConfigs = {}, id = uid('flow')): FlowDefinition {
  return { id, name: id, type: 'automation', variables: {}, configs, steps: steps as unknown as StepDefinition[] };
}

/** The input the gateway would hand a flow-run workflow. */
export function runInput(flow: FlowDefinition, extra: Partial<FlowRunInput> = {}): FlowRunInput {
  return {
    runId: uid('run'),
    batchId: 'batch-test',
    accountId: 'account-test',
    source: 'ci',
    position: 0,
    flow,
    flowVersion: 1,
    variables: {},
    trigger: { body: {} },
    ...extra,
  };
}

type Event = temporal.api.history.v1.IHistoryEvent;

const durationMs = (d: temporal.api.history.v1.ITimerStartedEventAttributes['startToFireTimeout']): number => {
  const seconds = d?.seconds;
  const s = seconds == null ? 0 : typeof seconds === 'number' ? seconds : seconds.toNumber();
  return s * 1000 + Math.round((d?.nanos ?? 0) / 1e6);
};

export async function eventsOf(handle: WorkflowHandle): Promise<Event[]> {
  return (await handle.fetchHistory()).events ?? [];
}

/** The `startToFireTimeout` of every timer the workflow started, in ms. */
export async function timersOf(handle: WorkflowHandle): Promise<number[]> {
  return (await eventsOf(handle)).filter((e) => e.timerStartedEventAttributes).map((e) => durationMs(e.timerStartedEventAttributes?.startToFireTimeout));
}

/** Polls `probe` until `ok` holds; fails with the last value after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      if (ok(last)) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached in ${timeoutMs}ms; last value ${JSON.stringify(last)}${lastError ? `, last error ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls the run's `progress` query until `ok` holds. */
export const progressUntil = (handle: WorkflowHandle, ok: (p: RunProgress) => boolean, what = 'progress'): Promise<RunProgress> =>
  until(what, () => handle.query<RunProgress>('progress'), ok);

/** Status of each step by id, from a run's recorded steps. */
export const statusesOf = (steps: { id: string; status: string }[]): Record<string, string> =>
  Object.fromEntries(steps.map((s) => [s.id, s.status]));
