/**
 * Every workflow ends: a run whose rows are deleted under it (by hand, by a cleanup job) stops
 * cleanly — its activities fail once with `RunGone` instead of being retried forever on foreign
 * keys — and its batch goes on and completes.
 */
import { startStack, startWorkers, until, type RunningWorkers, type Stack } from './harness';
import { startStub, type Stub } from './stub-server';

let stack: Stack;
let workers: RunningWorkers;
let stub: Stub;
let key: string;
let appId: string;

beforeAll(async () => {
  stack = await startStack();
  workers = await startWorkers(stack);
  stub = await startStub((req) => (req.url === '/slow' ? { body: { ok: true }, delayMs: 1500 } : { body: { ok: true } }));
  ({ apiKey: key } = await stack.newAccount());
  appId = (await stack.call('POST', '/api/v1/apps', { name: 'gone', platform: 'web', baseUrl: stub.url }, key)).body.id;
});

afterAll(async () => {
  await workers?.stop();
  await stub?.close();
  await stack?.stop();
});

it("when a running run's rows are deleted, then its workflow ends at once with RunGone, nothing keeps retrying, and the batch completes", async () => {
  const flow = {
    id: 'doomed',
    name: 'doomed',
    steps: [
      { id: 'slow', type: 'http', config: { url: `${stub.url}/slow` } },
      { id: 'after', type: 'http', config: { url: `${stub.url}/after` } },
    ],
  };
  expect((await stack.call('POST', '/api/v1/flows', flow, key)).status).toBe(201);
  expect((await stack.call('POST', '/api/v1/flows', { ...flow, id: 'survivor', name: 'survivor' }, key)).status).toBe(201);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: ['doomed', 'survivor'], max_parallel: 2 }, key);
  expect(t.status).toBe(200);
  const [doomed, survivor] = t.body.runs.map((r: { id: string }) => r.id);
  await until('the first step to be running', async () => (stub.requests.some((r) => r.url === '/slow') ? true : undefined));

  await stack.dataSource.query('DELETE FROM runs WHERE id = $1', [doomed]);

  const run = stack.client.workflow.getHandle(`run-${doomed}`);
  const closed = await until('the deleted run to close', async () => {
    const d = await run.describe();
    return d.status.name === 'RUNNING' ? undefined : d;
  });
  expect(closed.status.name).toBe('FAILED');
  await expect(run.result()).rejects.toThrow();
  const history = await run.fetchHistory();
  const failures = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes);
  expect(failures.length).toBeGreaterThan(0);
  expect(JSON.stringify(failures.map((e) => e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type))).toContain('RunGone');
  // Nothing was retried past the deletion: every activity of the run ended.
  expect((await run.describe()).raw.pendingActivities ?? []).toHaveLength(0);

  const batch = await until('the batch to complete', async () => {
    const s = await stack.call('GET', `/api/v1/runs/status?batch_id=${t.body.batch_id}`, undefined, key);
    return s.body.is_complete ? s.body : undefined;
  });
  expect(batch.runs.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([[survivor, 'succeeded']]);
  // The survivor called both services; the deleted run never got past its first step.
  expect(stub.requests.filter((r) => r.url === '/slow')).toHaveLength(2);
  expect(stub.requests.filter((r) => r.url === '/after')).toHaveLength(1);
});
