/**
 * What operators do in Temporal shows in the run records by itself: the real `temporal` CLI
 * cancels, terminates and resets runs, and the tests read the rows straight from Postgres (never
 * through the API, whose reads would repair them) within 2 s.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RunEntity, StepRunEntity, type Run } from '../db/entities';
import { withStack } from './harness';

const exec = promisify(execFile);

let flipped = false;

const stack = withStack({
  workers: true,
  stub: (req) => (req.url === '/flip' && !flipped ? { status: 500, body: { down: true } } : { body: { ok: true } }),
  app: 'shop',
});

beforeAll(async () => {
  await stack.call('POST', '/api/v1/flows', { id: 'long', name: 'long', steps: [{ id: 'wait', type: 'delay', config: { durationMs: 120_000 } }] }, stack.key);
});

const temporal = (...args: string[]) =>
  exec(process.env.FLOWRUNS_TEST_TEMPORAL_BINARY!, ['workflow', ...args, '--address', stack.config.temporalAddress, '--namespace', stack.config.namespace]);

const row = (runId: string): Promise<Run> => stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: runId });

async function rowUntil(runId: string, ok: (r: Run) => boolean, timeoutMs: number): Promise<Run> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await row(runId);
    if (ok(r)) return r;
    if (Date.now() > deadline) throw new Error(`run ${runId} row did not change in ${timeoutMs} ms: ${JSON.stringify({ status: r.status, error: r.error })}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function start(flowId: string): Promise<string> {
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: [flowId] }, stack.key);
  expect(t.status).toBe(200);
  return t.body.runs[0].id;
}

it('when a run is terminated with the temporal CLI, then its row shows it cancelled with who and why within 2 s, with no read', async () => {
  const runId = await start('long');
  const running = await rowUntil(runId, (r) => r.status === 'running', 15_000);
  const at = Date.now();
  await temporal('terminate', '--workflow-id', running.workflowId!, '--reason', 'ops says stop');
  const ended = await rowUntil(runId, (r) => r.status === 'cancelled', 2000 + (Date.now() - at));
  expect(ended.error?.message).toMatch(/^terminated in Temporal by .+: ops says stop$/);
  expect(ended.finishedAt).not.toBeNull();
});

it('when a run is cancelled with the temporal CLI, then its row shows it cancelled in its step within 2 s', async () => {
  const runId = await start('long');
  const running = await rowUntil(runId, (r) => r.status === 'running', 15_000);
  const at = Date.now();
  await temporal('cancel', '--workflow-id', running.workflowId!);
  const ended = await rowUntil(runId, (r) => r.status === 'cancelled', 2000 + (Date.now() - at));
  expect(ended.error).toEqual({ step: 'wait', message: 'run cancelled' });
});

it('when a failed run is reset with the temporal CLI, then it runs again and its rows show the new outcome with no duplicates', async () => {
  await stack.call('POST', '/api/v1/flows', { id: 'flaky', name: 'flaky', steps: [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/flip` }, retry: { maxAttempts: 1 } }] }, stack.key);
  const runId = await start('flaky');
  const failed = await rowUntil(runId, (r) => r.status === 'failed', 15_000);
  flipped = true;
  await temporal('reset', '--workflow-id', failed.workflowId!, '--type', 'FirstWorkflowTask', '--reason', 'fixed the service');
  const again = await rowUntil(runId, (r) => r.status === 'succeeded', 15_000);
  expect(again.workflowRunId).not.toBe(failed.workflowRunId);
  expect(again.error).toBeNull();
  const steps = await stack.dataSource.getRepository(StepRunEntity).findBy({ runId: again.id });
  expect(steps.map((s) => [s.stepId, s.status, s.attempts])).toEqual([['call', 'succeeded', 1]]);
  expect(stack.stub.requests.filter((r) => r.url === '/flip')).toHaveLength(2);
});
