/**
 * Outages are waited out: the worker reaches Postgres through a TCP proxy the test cuts (every
 * open connection reset, new ones refused) while steps are in flight, then restores. Steps
 * whose records could not be written wait for the database instead of failing or calling their
 * service again, and every record converges once it is back.
 */
import { openDatabase } from '../db/data-source';
import { startStack, startWorkers, type Loose, type RunningWorkers, type Stack } from './harness';
import { startStub, type Stub } from './stub-server';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

let stack: Stack;
let workers: RunningWorkers;
let stub: Stub;
let proxy: TcpProxy;
let workerDb: Awaited<ReturnType<typeof openDatabase>>;
let key: string;
let appId: string;

beforeAll(async () => {
  stack = await startStack();
  const url = new URL(stack.config.databaseUrl!);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.host = `127.0.0.1:${proxy.port()}`;
  workerDb = await openDatabase(url.toString(), { poolSize: 5 });
  workers = await startWorkers({ config: stack.config, dataSource: workerDb });
  stub = await startStub((req) => (req.url === '/slow' ? { body: { ok: true }, delayMs: 1500 } : { body: { ok: true } }));
  ({ apiKey: key } = await stack.newAccount());
  appId = (await stack.call('POST', '/api/v1/apps', { name: 'outage', platform: 'web', baseUrl: stub.url }, key)).body.id;
});

afterAll(async () => {
  await workers?.stop();
  await workerDb?.destroy().catch(() => undefined);
  await proxy?.cut();
  await stub?.close();
  await stack?.stop();
});

it('when Postgres is unreachable while steps run, then they wait for it: no step fails, no service is called twice, and the records converge', async () => {
  const steps = [
    { id: 'slow', type: 'http', config: { url: `${stub.url}/slow` } },
    { id: 'next', type: 'http', config: { url: `${stub.url}/next` } },
  ];
  expect((await stack.call('POST', '/api/v1/flows', { id: 'patient', name: 'patient', steps }, key)).status).toBe(201);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: ['patient'], max_parallel: 5 }, key);
  expect(t.status).toBe(200);
  const t2 = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: ['patient'], max_parallel: 5 }, key);
  const deadline = Date.now() + 20_000;
  while (stub.requests.filter((r) => r.url === '/slow').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

  // Both runs are inside their slow call: the database goes away under them for 6 s.
  await proxy.cut();
  await new Promise((r) => setTimeout(r, 6000));
  await proxy.restore();

  const finished: Loose[] = [];
  for (const batch of [t.body.batch_id, t2.body.batch_id]) {
    const end = Date.now() + 60_000;
    for (;;) {
      const s = await stack.call('GET', `/api/v1/runs/status?batch_id=${batch}`, undefined, key);
      if (s.body.is_complete) {
        finished.push(...s.body.runs);
        break;
      }
      if (Date.now() > end) throw new Error(`batch ${batch} not complete: ${JSON.stringify(s.body)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  expect(finished.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  expect(stub.requests.filter((r) => r.url === '/slow')).toHaveLength(2);
  expect(stub.requests.filter((r) => r.url === '/next')).toHaveLength(2);
  for (const r of finished) {
    const detail = (await stack.call('GET', `/api/v1/runs/${r.id}`, undefined, key)).body;
    expect(detail.actions.map((a: Loose) => [a.step_id, a.status, a.attempts])).toEqual([
      ['slow', 'succeeded', 1],
      ['next', 'succeeded', 1],
    ]);
  }
}, 120_000);
