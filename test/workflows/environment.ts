/**
 * The Temporal test environment of the workflow-logic tests: the time-skipping test server when
 * it can be had, else a local dev server running in real time.
 *
 * `TestWorkflowEnvironment.createTimeSkipping()` downloads the Java test server on first use, so
 * it works on a machine with internet access, or anywhere with TEMPORAL_TEST_SERVER_PATH naming a
 * test-server binary. Without either it fails at once and the tests fall back to
 * `createLocal()` on the project's own `temporal` CLI (apps/dev/temporal.ts), where time does not
 * skip: tests of long timers then assert on the history instead of waiting (see `supportsTimeSkipping`).
 * FLOWRUNS_TIME_SKIPPING=0 forces the local server.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { workflowBundleOptions } from '../../apps/worker/bundle';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { resolveTemporalBinary } from '../../apps/dev/temporal';
import { ACCOUNT_ID, BATCH_ID, FLOW_ID, RUN_SOURCE } from '../../workflows/search-attributes';

export type EnvironmentMode = 'time-skipping' | 'local';

export interface WorkflowTestEnvironment {
  env: TestWorkflowEnvironment;
  mode: EnvironmentMode;
  /** True when awaiting a result skips timers; false on the local server, where they take real time. */
  supportsTimeSkipping: boolean;
  /** Why the time-skipping server was not used, when it was not. */
  fallbackReason?: string;
}

async function timeSkipping(): Promise<TestWorkflowEnvironment> {
  const testServer = process.env.TEMPORAL_TEST_SERVER_PATH;
  return TestWorkflowEnvironment.createTimeSkipping(
    testServer ? { server: { executable: { type: 'existing-path', path: testServer } } } : undefined,
  );
}

async function local(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: await resolveTemporalBinary() },
      ip: '127.0.0.1',
      ui: false,
      searchAttributes: [FLOW_ID, BATCH_ID, ACCOUNT_ID, RUN_SOURCE],
    },
  });
}

export async function createWorkflowTestEnvironment(): Promise<WorkflowTestEnvironment> {
  const started = Date.now();
  let result: WorkflowTestEnvironment;
  if (process.env.FLOWRUNS_TIME_SKIPPING === '0') {
    result = { env: await local(), mode: 'local', supportsTimeSkipping: false, fallbackReason: 'FLOWRUNS_TIME_SKIPPING=0' };
  } else {
    try {
      const env = await timeSkipping();
      result = { env, mode: 'time-skipping', supportsTimeSkipping: env.supportsTimeSkipping };
    } catch (err) {
      // An explicit test-server path that does not start is a broken setup, not a reason to fall back.
      if (process.env.TEMPORAL_TEST_SERVER_PATH) throw err;
      const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      const reason = message.length > 160 ? `${message.slice(0, 160)}…` : message;
      result = { env: await local(), mode: 'local', supportsTimeSkipping: false, fallbackReason: reason };
    }
  }
  announce(result, Date.now() - started);
  return result;
}

/** Says which server the workflow tests run on, once per test process. */
function announce(result: WorkflowTestEnvironment, ms: number): void {
  const flag = Symbol.for('flowruns.workflow-test-environment.announced');
  const holder = process as unknown as Record<symbol, boolean>;
  if (holder[flag]) return;
  holder[flag] = true;
  const why = result.fallbackReason ? ` (time-skipping server unavailable: ${result.fallbackReason})` : '';
  process.stderr.write(
    `\n[workflow tests] ${result.mode === 'time-skipping' ? 'time-skipping test server' : 'local dev server, real time'}${why}; ready in ${ms}ms\n`,
  );
}

/** One environment and one workflow bundle per test file (built once), torn down after the file. */
export function setUpWorkflowTests(ready: (t: WorkflowTestEnvironment, workflowBundle: WorkflowBundleWithSourceMap) => void): void {
  let created: WorkflowTestEnvironment | undefined;
  beforeAll(async () => {
    const [t, workflowBundle] = await Promise.all([
      createWorkflowTestEnvironment(),
      bundleWorkflowCode(workflowBundleOptions()),
    ]);
    created = t;
    ready(t, workflowBundle);
  }, 120_000);
  afterAll(async () => {
    await created?.env.teardown();
  });
}
