/**
 * `/metrics` on the real stack (the worker runs in this process, as under `npm run dev`, so the
 * gateway's registry has the worker's counters too): a finished run is counted, its steps timed.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { startGateway } from '../apps/gateway/server';
import { withStack } from './harness';

const stack = withStack({ workers: true, stub: true });

const metric = (text: string, name: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
};

it('when a run finishes, then /metrics counts it by status, times its steps by type and counts the requests by route', async () => {
  const { apiKey } = await stack.newAccount();
  const app = (await stack.call('POST', '/api/v1/apps', { name: 'shop', platform: 'web', baseUrl: stack.stub.url }, apiKey)).body.id;
  await stack.call('POST', '/api/v1/flows', { id: 'measured', name: 'measured', steps: [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/x` } }, { id: 'sum', type: 'transform', config: { expression: '1' } }] }, apiKey);
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
  expect(metric(text, 'flowruns_runs_started_total')).toBe(1);
  expect(metric(text, 'flowruns_runs_finished_total{status="succeeded"}')).toBe(1);
  expect(metric(text, 'flowruns_step_duration_seconds_count{type="http",status="succeeded"}')).toBe(1);
  expect(metric(text, 'flowruns_step_duration_seconds_count{type="transform",status="succeeded"}')).toBe(1);
  expect(metric(text, 'flowruns_http_requests_total{route="/api/v1/flows/run",status="200"}')).toBe(1);
  expect(metric(text, 'flowruns_http_requests_total{route="/api/v1/runs/status",status="200"}')).toBeGreaterThanOrEqual(1);
  expect(metric(text, 'flowruns_http_request_duration_seconds_count{route="/api/v1/flows/run",status="200"}')).toBe(1);
  expect(metric(text, 'flowruns_activity_queue_lag_seconds_count{queue="' + stack.config.taskQueue + '"}')).toBeGreaterThanOrEqual(2);
});

it("when a worker process runs with FLOWRUNS_SDK_METRICS_ADDRESS, then it exports the Temporal SDK's metrics, and its logs are JSON lines with the run's ids", async () => {
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  const queue = `${stack.config.taskQueue}-sdk`;
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, '../apps/worker/main.ts')], {
    env: {
      ...process.env,
      DATABASE_URL: stack.config.databaseUrl,
      TEMPORAL_ADDRESS: stack.config.temporalAddress,
      TASK_QUEUE: queue,
      FLOWRUNS_PAYLOAD_KEYS: stack.config.payloadKeys?.map((k) => `${k.id}=${k.key.toString('base64')}`).join(','),
      FLOWRUNS_EGRESS_ALLOW: '127.0.0.0/8',
      FLOWRUNS_SDK_METRICS_ADDRESS: `127.0.0.1:${port}`,
      LOG_LEVEL: 'INFO',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const { apiKey } = await stack.newAccount();
    const app = (await stack.call('POST', '/api/v1/apps', { name: 'sdk', platform: 'web', baseUrl: stack.stub.url }, apiKey)).body.id;
    await stack.call('POST', '/api/v1/flows', { id: 'sdk-measured', name: 'sdk', steps: [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/sdk` } }] }, apiKey);
    // Started on the spawned worker's queue, as a second deployment's gateway would.
    const gateway = await startGateway({ config: { ...stack.config, taskQueue: queue }, dataSource: stack.dataSource, client: stack.client, port: 0, host: '127.0.0.1' });
    let batchId: string;
    try {
      const t = await fetch(`${gateway.url}/api/v1/flows/run`, { method: 'POST', headers: { 'content-type': 'application/json', 'X-API-Key': apiKey }, body: JSON.stringify({ app_id: app, flow_ids: ['sdk-measured'] }) });
      batchId = ((await t.json()) as { batch_id: string }).batch_id;
    } finally {
      await gateway.stop();
    }
    const deadline = Date.now() + 60_000;
    let text = '';
    for (;;) {
      text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
      // The run's end is logged by a local activity inside its last workflow task, a moment before the SDK counts the workflow completed.
      if (text.includes('temporal_activity_execution_latency') && /temporal_workflow_completed_total\{[^}]*\} \d+/.test(text) && out.includes('"msg":"run succeeded"')) break;
      if (Date.now() > deadline) throw new Error(`no SDK metrics or run log yet:\n${text.slice(0, 500)}\n${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(text).toMatch(/temporal_workflow_completed_total\{[^}]*\} \d+/);
    expect(text).toContain(`task_queue="${queue}"`);
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const finished = lines.find((l) => l.msg === 'run succeeded');
    expect(finished).toMatchObject({ level: 'info', component: 'worker', runId: expect.any(String), status: 'succeeded', time: expect.any(String) });
    expect(finished!.runId).toBe((await stack.call('GET', `/api/v1/runs/status?batch_id=${batchId}`, undefined, apiKey)).body.runs[0].id);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}, 120_000);
