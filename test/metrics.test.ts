/**
 * `/metrics` on the real stack (the worker runs in this process, as under `npm run dev`, so the
 * gateway's registry has the worker's counters too): a finished run is counted, its steps timed.
 */
import { startStack, startWorkers, type RunningWorkers, type Stack } from './harness';
import { startStub, type Stub } from './stub-server';

let stack: Stack;
let workers: RunningWorkers;
let stub: Stub;

beforeAll(async () => {
  stack = await startStack();
  workers = await startWorkers(stack);
  stub = await startStub();
});

afterAll(async () => {
  await workers?.stop();
  await stub?.close();
  await stack?.stop();
});

const metric = (text: string, name: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
};

it('when a run finishes, then /metrics counts it by status, times its steps by type and counts the requests by route', async () => {
  const { apiKey } = await stack.newAccount();
  const app = (await stack.call('POST', '/api/v1/apps', { name: 'shop', platform: 'web', baseUrl: stub.url }, apiKey)).body.id;
  await stack.call('POST', '/api/v1/flows', { id: 'measured', name: 'measured', steps: [{ id: 'call', type: 'http', config: { url: `${stub.url}/x` } }, { id: 'sum', type: 'transform', config: { expression: '1' } }] }, apiKey);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: app, flow_ids: ['measured'] }, apiKey);
  const deadline = Date.now() + 20_000;
  while ((await stack.call('GET', `/api/v1/runs/status?batch_id=${t.body.batch_id}`, undefined, apiKey)).body.is_complete !== true) {
    if (Date.now() > deadline) throw new Error('run did not finish');
    await new Promise((r) => setTimeout(r, 150));
  }

  const res = await fetch(`${stack.baseUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const text = await res.text();
  expect(metric(text, 'flowruns_runs_finished_total{status="succeeded"}')).toBe(1);
  expect(metric(text, 'flowruns_step_duration_seconds_count{type="http",status="succeeded"}')).toBe(1);
  expect(metric(text, 'flowruns_step_duration_seconds_count{type="transform",status="succeeded"}')).toBe(1);
  expect(metric(text, 'flowruns_http_requests_total{route="/api/v1/flows/run",status="200"}')).toBe(1);
  expect(metric(text, 'flowruns_http_requests_total{route="/api/v1/runs/status",status="200"}')).toBeGreaterThanOrEqual(1);
  expect(metric(text, 'flowruns_activity_queue_lag_seconds_count{queue="' + stack.config.taskQueue + '"}')).toBeGreaterThanOrEqual(2);
});
