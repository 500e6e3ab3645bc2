/**
 * An opt-in for the platform worker's workflow threads (FLOWRUNS_WORKFLOW_DEADLOCK_CHECK=sampled): a
 * deadlock check that costs nothing per call. The default is the SDK's own check (\`per-call\`).
 *
 * The SDK bounds every call into a workflow thread's V8 context (activate, unblock conditions,
 * conclude: three or more an activation) with `vm`'s `timeout`, for which Node starts a watchdog
 * thread and joins it again on every call: about 0.09 ms of CPU and 0.4 ms of the workflow thread's
 * time on this project's 2-core reference machine, more than the workflow code of a step costs.
 * Here the calls run without it: each thread counts the calls it begins and whether it is inside
 * one on shared memory, and the main thread looks at the counters (`watchCalls`). A call that is
 * still the same one after the SDK's `isolateExecutionTimeout` (5 s) is a workflow that never
 * yields: the thread is stopped, the SDK shuts the worker down with an error and the process exits
 * to be restarted. What that workflow and the others were doing is in Temporal, retried on the next
 * worker: nothing is lost, as with any worker that dies. (The SDK instead fails that one workflow
 * task and keeps the thread; the workflow code here is the platform's own, so a deadlock is a bug of
 * it, not of a tenant's flow.)
 *
 * It reaches into the SDK's internals (\`@temporalio/worker/lib/…\`, the worker's workflow creator,
 * \`vm.Script.prototype.runInContext\` in its threads), so it refuses to start on any SDK version but
 * the one it was verified against (\`SAMPLED_CHECK_SDK_VERSION\`); those internals are loaded only
 * when it is chosen. bench/README.md has what it buys (P1 1.70× → 1.46× on one machine).
 */
import fs from 'node:fs';
import { Worker as ThreadWorker } from 'node:worker_threads';
import type { Logger } from '@temporalio/common';
import { Worker, type CompiledWorkerOptions } from '@temporalio/worker';
import type { WorkflowCreator } from '@temporalio/worker/lib/workflow/interface';
import type { WorkflowBundleWithSourceMapAndFilename } from '@temporalio/worker/lib/workflow/workflow-worker-thread/input';
import type { DeadlockCheck } from '../../platform/config';

/**
 * The SDK's thread module, started in a thread that first drops `timeout` from its calls into a
 * context and counts them, and without stack traces leaves out the SDK's promise hook (then the
 * stack-trace query answers that they are not enabled on this worker).
 */
const THREAD_SOURCE = `
const { workerData } = require('node:worker_threads');
const vm = require('node:vm');
const calls = new Int32Array(workerData.calls);
const run = vm.Script.prototype.runInContext;
vm.Script.prototype.runInContext = function (context, options) {
  if (options === undefined || options.timeout === undefined) return run.call(this, context, options);
  const { timeout, ...rest } = options;
  Atomics.add(calls, 0, 1);
  Atomics.store(calls, 1, 1);
  try {
    return run.call(this, context, rest);
  } finally {
    Atomics.store(calls, 1, 0);
  }
};
if (!workerData.stackTraces) require(workerData.vmShared).globalHandlers.setPromiseHook = () => undefined;
require(workerData.sdkThread);
`;

/** The \`@temporalio/worker\` version whose internals the sampled check was verified against. */
export const SAMPLED_CHECK_SDK_VERSION = '1.24.0';

/** The installed \`@temporalio/worker\` version. */
export const installedSdkVersion = (): string =>
  (JSON.parse(fs.readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as { version: string }).version;

/** Shared with one thread: [0] calls begun, [1] 1 while inside one. */
export const callCounters = (): Int32Array => new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));

/**
 * Looks at a thread's call counters every `limitMs / 5` (at most every second); calls `stuck` once
 * when one call has lasted `limitMs` or more. Stops looking when `stuck` is called or on the answer's call.
 */
export function watchCalls(calls: Int32Array, limitMs: number, stuck: (forMs: number) => void): () => void {
  let seen = -1;
  let since = 0;
  const timer = setInterval(
    () => {
      const begun = Atomics.load(calls, 0);
      const now = Date.now();
      if (Atomics.load(calls, 1) === 0 || begun !== seen) {
        seen = begun;
        since = now;
        return;
      }
      if (now - since < limitMs) return;
      clearInterval(timer);
      stuck(now - since);
    },
    Math.max(10, Math.min(1000, Math.floor(limitMs / 5))),
  );
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * A Temporal worker whose workflow threads run without the per-call watchdog (see the module's
 * comment) and, unless \`stackTraces\`, without the SDK's stack capture for every promise a workflow
 * makes, which only the Temporal UI's stack-trace query reads (FLOWRUNS_WORKFLOW_STACK_TRACES).
 */
export class SampledDeadlockWorker extends Worker {
  /** Whether the stack-trace query works: \`workerClass\`'s subclass says so. */
  protected static stackTraces = false;

  protected static override async createWorkflowCreator(
    workflowBundle: WorkflowBundleWithSourceMapAndFilename,
    compiledOptions: CompiledWorkerOptions,
    logger: Logger,
  ): Promise<WorkflowCreator> {
    // Debug mode runs workflows in this thread, without a time limit: nothing to replace.
    if (compiledOptions.debugMode) return super.createWorkflowCreator(workflowBundle, compiledOptions, logger);
    const { ThreadedVMWorkflowCreator, WorkerThreadClient } = await import('@temporalio/worker/lib/workflow/threaded-vm');
    const limitMs = compiledOptions.isolateExecutionTimeoutMs;
    const sdkThread = require.resolve('@temporalio/worker/lib/workflow/workflow-worker-thread');
    const vmShared = require.resolve('@temporalio/worker/lib/workflow/vm-shared');
    const { stackTraces } = this;
    const clients = Array.from({ length: compiledOptions.workflowThreadPoolSize }, (_, index) => {
      const calls = callCounters();
      const thread = new ThreadWorker(THREAD_SOURCE, { eval: true, workerData: { calls: calls.buffer, sdkThread, vmShared, stackTraces } });
      const stop = watchCalls(calls, limitMs, (forMs) => {
        logger.error(
          `workflow thread ${index} has been in one call into a workflow for ${forMs} ms (limit ${limitMs} ms): a workflow that never yields. ` +
            'Stopping the thread, which shuts this worker down; its workflows go on from their histories on the next worker.',
        );
        void thread.terminate();
      });
      thread.once('exit', stop);
      return new WorkerThreadClient(thread, logger, compiledOptions.patchActivationCallback);
    });
    await Promise.all(
      clients.map((client) =>
        client.send({
          type: 'init',
          workflowBundle,
          isolateExecutionTimeoutMs: limitMs,
          reuseV8Context: compiledOptions.reuseV8Context ?? true,
          registeredActivityNames: new Set(compiledOptions.activities.keys()),
          hasPatchActivationCallback: compiledOptions.patchActivationCallback !== undefined,
        }),
      ),
    );
    return new ThreadedVMWorkflowCreator(clients);
  }
}

/**
 * The worker class for a deadlock check and stack traces; with \`per-call\` (the default) the SDK's
 * own, stack traces and all. \`sampled\` on an SDK version it was not verified against is refused.
 */
export function workerClass(check: DeadlockCheck, stackTraces: boolean, sdkVersion: string = installedSdkVersion()): typeof Worker {
  if (check === 'per-call') return Worker;
  if (sdkVersion !== SAMPLED_CHECK_SDK_VERSION)
    throw new Error(
      `FLOWRUNS_WORKFLOW_DEADLOCK_CHECK=sampled was verified against @temporalio/worker ${SAMPLED_CHECK_SDK_VERSION} and relies on its internals; ` +
        `this is ${sdkVersion}. Unset it (the SDK's own check, per-call, is the default) or verify the sampled check on this version first.`,
    );
  if (!stackTraces) return SampledDeadlockWorker;
  return class extends SampledDeadlockWorker {
    protected static override stackTraces = true;
  };
}
