/**
 * The platform worker's workflow threads without the SDK's per-call watchdog
 * (apps/worker/workflow-threads.ts), on the real Temporal server: workflows run on them, and a
 * workflow that never yields is noticed within the limit, its thread stopped and the worker shut
 * down with an error.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type LogEntry, type Worker } from '@temporalio/worker';
import { callCounters, SampledDeadlockWorker, watchCalls, workerClass } from '../apps/worker/workflow-threads';
import { answers, neverYields, waits } from './workflows/spin-workflows';

const errors: LogEntry[] = [];
Runtime.install({ logger: new DefaultLogger('ERROR', (entry) => errors.push(entry)), shutdownSignals: [] });

const address = () => process.env.TEMPORAL_ADDRESS!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watchCalls', () => {
  it('calls stuck once a call has lasted the limit, and never while calls go on', async () => {
    const calls = callCounters();
    const stuck: number[] = [];
    const stop = watchCalls(calls, 100, (ms) => stuck.push(ms));
    // Calls that begin and end, one after another: never stuck.
    for (let i = 0; i < 15; i++) {
      Atomics.add(calls, 0, 1);
      Atomics.store(calls, 1, 1);
      await sleep(15);
      Atomics.store(calls, 1, 0);
    }
    expect(stuck).toEqual([]);
    // One call that stays.
    Atomics.add(calls, 0, 1);
    Atomics.store(calls, 1, 1);
    await sleep(400);
    stop();
    expect(stuck).toHaveLength(1);
    expect(stuck[0]).toBeGreaterThanOrEqual(100);
  });
});

describe('SampledDeadlockWorker on the Temporal server', () => {
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    connection = await Connection.connect({ address: address() });
    client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE });
  });
  afterAll(async () => {
    await connection.close();
  });

  async function startWorker(taskQueue: string, workerType: typeof Worker = SampledDeadlockWorker) {
    const native = await NativeConnection.connect({ address: address() });
    const worker = await workerType.create({
      connection: native,
      namespace: process.env.TEMPORAL_NAMESPACE,
      taskQueue,
      workflowsPath: require.resolve('./workflows/spin-workflows'),
      // The SDK's limit of one call (5 s by default); not in WorkerOptions' type, but honoured.
      ...({ isolateExecutionTimeout: '1 second' } as object),
    });
    return { worker, native };
  }

  it('runs workflows, and stops a thread whose workflow never yields, failing the worker', async () => {
    const taskQueue = `deadlock-${randomBytes(4).toString('hex')}`;
    const { worker, native } = await startWorker(taskQueue);
    const running = worker.run();
    const outcome = running.then(
      () => 'resolved',
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    try {
      const id = `answers-${taskQueue}`;
      expect(await client.workflow.execute(answers, { taskQueue, workflowId: id })).toBe('answered');

      const stuckId = `never-yields-${taskQueue}`;
      await client.workflow.start(neverYields, { taskQueue, workflowId: stuckId });
      const failed = await Promise.race([outcome, sleep(30_000).then(() => 'still running after 30 s')]);
      expect(failed).not.toBe('still running after 30 s');
      expect(failed).toBe('Workflow Worker Thread exited while there were still pending completions');
      expect(errors.map((e) => e.message).join('\n')).toMatch(/workflow thread 0 has been in one call into a workflow for \d+ ms \(limit 1000 ms\): a workflow that never yields/);
      await client.workflow.getHandle(stuckId).terminate('test over');
    } finally {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await outcome;
      await native.close();
    }
  });

  it.each([
    ['off', SampledDeadlockWorker, /stack traces are not enabled on this worker/],
    ['on', workerClass('sampled', true), /at waits \(/],
  ])('stack traces %s: the stack-trace query answers accordingly', async (_, workerType, expected) => {
    const taskQueue = `stacks-${randomBytes(4).toString('hex')}`;
    const { worker, native } = await startWorker(taskQueue, workerType);
    const running = worker.run();
    try {
      const handle = await client.workflow.start(waits, { taskQueue, workflowId: `waits-${taskQueue}` });
      const answer = await handle.query<string>('__stack_trace').then(String, (err: Error) => err.message);
      expect(answer).toMatch(expected);
      await handle.terminate('test over');
    } finally {
      worker.shutdown();
      await running;
      await native.close();
    }
  });
});
