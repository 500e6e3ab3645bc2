/**
 * Trigger without the transaction trap: a gateway whose Temporal goes away (through a TCP proxy
 * the test cuts) answers a trigger 503 with Retry-After, holds no database connection meanwhile
 * (its other requests answer first), still answers reads from Postgres, and a client retrying with
 * the same Idempotency-Key gets exactly one batch once Temporal is back.
 */
import { Client, Connection } from '@temporalio/client';
import { startGateway, type RunningGateway } from '../apps/gateway/server';
import { dataConverterFor } from '../platform/payload-codec';
import { startStack, startWorkers, type RunningWorkers, type Stack } from './harness';
import { startStub, type Stub } from './stub-server';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

let stack: Stack;
let workers: RunningWorkers;
let stub: Stub;
let proxy: TcpProxy;
let connection: Connection;
let gateway: RunningGateway;
let key: string;
let appId: string;

beforeAll(async () => {
  stack = await startStack();
  workers = await startWorkers(stack);
  stub = await startStub();
  const [host, port] = stack.config.temporalAddress.split(':');
  proxy = await startTcpProxy({ host: host!, port: Number(port) });
  connection = await Connection.connect({ address: `127.0.0.1:${proxy.port()}` });
  const client = new Client({ connection, namespace: stack.config.namespace, dataConverter: dataConverterFor(stack.config.payloadKeys) });
  gateway = await startGateway({ config: stack.config, dataSource: stack.dataSource, client, port: 0, host: '127.0.0.1' });
  ({ apiKey: key } = await stack.newAccount());
  appId = (await stack.call('POST', '/api/v1/apps', { name: 'outage', platform: 'web', baseUrl: stub.url }, key)).body.id;
  await stack.call('POST', '/api/v1/flows', { id: 'once', name: 'once', steps: [{ id: 'call', type: 'http', config: { url: `${stub.url}/once` } }] }, key);
});

afterAll(async () => {
  await gateway?.stop();
  await connection?.close();
  await proxy?.cut();
  await workers?.stop();
  await stub?.close();
  await stack?.stop();
});

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, {
    method,
    headers: { 'X-API-Key': key, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });

async function complete(batchId: string): Promise<{ runs: { status: string }[] }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await stack.call('GET', `/api/v1/runs/status?batch_id=${batchId}`, undefined, key);
    if (s.body.is_complete) return s.body;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} not complete`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

it('when Temporal is unreachable, then a trigger answers 503 with Retry-After, reads answer from Postgres, and retries with the key make exactly one batch', async () => {
  const body = { app_id: appId, flow_ids: ['once'] };
  // A batch that finished before the outage, to read during it.
  const before = (await (await call('POST', '/api/v1/flows/run', body)).json()) as { batch_id: string };
  await complete(before.batch_id);

  await proxy.cut();
  const order: string[] = [];
  const trigger = call('POST', '/api/v1/flows/run', body, { 'Idempotency-Key': 'outage-1' }).then((r) => {
    order.push('trigger');
    return r;
  });
  await new Promise((r) => setTimeout(r, 300));
  const read = await call('GET', `/api/v1/runs/status?batch_id=${before.batch_id}`);
  order.push('read');
  expect(read.status).toBe(200);
  expect(((await read.json()) as { runs: { status: string }[] }).runs.map((r) => r.status)).toEqual(['succeeded']);
  const flows = await call('GET', '/api/v1/flows');
  order.push('flows');
  expect(flows.status).toBe(200);

  const refused = await trigger;
  expect(order).toEqual(['read', 'flows', 'trigger']);
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(((await refused.json()) as { error: string }).error).toMatch(/Idempotency-Key/);

  await proxy.restore();
  // The client retries with the same key, as Retry-After says, until Temporal answers again.
  let answer: { batch_id: string } | undefined;
  const deadline = Date.now() + 90_000;
  while (!answer) {
    const res = await call('POST', '/api/v1/flows/run', body, { 'Idempotency-Key': 'outage-1' });
    if (res.status === 200) answer = (await res.json()) as { batch_id: string };
    else if (res.status !== 503 || Date.now() > deadline) throw new Error(`retry answered ${res.status}: ${await res.text()}`);
    else await new Promise((r) => setTimeout(r, 1000));
  }
  const again = (await (await call('POST', '/api/v1/flows/run', body, { 'Idempotency-Key': 'outage-1' })).json()) as { batch_id: string };
  expect(again.batch_id).toBe(answer.batch_id);
  expect((await complete(answer.batch_id)).runs.map((r) => r.status)).toEqual(['succeeded']);
  const batches: { n: string }[] = await stack.dataSource.query(`SELECT count(*) AS n FROM batches WHERE idempotency_key = 'outage-1'`);
  expect(Number(batches[0]!.n)).toBe(1);
  expect(stub.requests.filter((r) => r.url === '/once')).toHaveLength(2);
}, 180_000);
