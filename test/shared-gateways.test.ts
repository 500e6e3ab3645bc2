/**
 * Two gateways over one Postgres and one Temporal share one truth (SPEC §10 "Several gateways and
 * workers"): a key's rate limit holds across both together, a live stream on one shows a run
 * triggered through the other (woken by LISTEN/NOTIFY), an account's cap on streams counts both,
 * and one watcher of operator actions runs, the other gateway taking over when its holder stops.
 */
import http from 'node:http';
import { Client, Connection } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { startGateway, type RunningGateway } from '../apps/gateway/server';
import { openDatabase } from '../db/data-source';
import { dataConverterFor } from '../platform/payload-codec';
import { until, withStack } from './harness';

const PER_MINUTE = 600;
const BURST = PER_MINUTE / 6;

let b: { gateway: RunningGateway; dataSource: DataSource; connection: Connection };

const stack = withStack({
  env: { FLOWRUNS_RATE_LIMIT_PER_MINUTE: String(PER_MINUTE), FLOWRUNS_MAX_STREAMS_PER_ACCOUNT: '2' },
  workers: true,
  app: 'shop',
  teardown: async () => {
    await b?.gateway.stop();
    await b?.connection.close();
    await b?.dataSource.destroy();
  },
});

beforeAll(async () => {
  const dataSource = await openDatabase(stack.config.databaseUrl as string, { poolSize: 5 });
  const connection = await Connection.connect({ address: stack.config.temporalAddress });
  const client = new Client({ connection, namespace: stack.config.namespace, dataConverter: dataConverterFor(stack.config.payloadKeys) });
  b = { gateway: await startGateway({ config: stack.config, dataSource, client, port: 0, host: '127.0.0.1', watcherRetryMs: 200 }), dataSource, connection };
  for (const id of ['q1', 'q2', 'q3']) {
    const flow = await stack.call('POST', '/api/v1/flows', { id, name: id, steps: [{ id: 'one', type: 'transform', config: { expression: '1 + 1' } }] }, stack.key);
    expect(flow.status).toBe(201);
  }
});

const get = (base: string, path: string, apiKey: string) => fetch(`${base}${path}`, { headers: { 'x-api-key': apiKey } });

it("when one key's requests are spread over both gateways, then together they get the key's rate (within 10 %), with RateLimit headers", async () => {
  const { apiKey } = await stack.newAccount();
  const bases = [stack.baseUrl, b.gateway.url];
  const started = Date.now();
  const passed = [0, 0];
  let limited: Response | undefined;
  let first: Response | undefined;
  // Eight requests at a time, alternating gateways, 400 in all: far more than the burst.
  for (let i = 0; i < 400; i += 8) {
    const replies = await Promise.all(Array.from({ length: 8 }, (_, j) => get(bases[(i + j) % 2], '/api/v1/flows', apiKey).then((r) => ({ r, at: (i + j) % 2 }))));
    for (const { r, at } of replies) {
      await r.arrayBuffer();
      first ??= r;
      if (r.status === 200) passed[at]++;
      else if (r.status === 429) limited ??= r;
      else throw new Error(`unexpected ${r.status}`);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const allowed = BURST + (PER_MINUTE / 60) * seconds;
  const total = passed[0] + passed[1];
  console.log(`[shared rate limit] ${total} of 400 passed over two gateways (${passed.join(' + ')}) in ${seconds.toFixed(2)} s; one bucket allows ${allowed.toFixed(0)}; accuracy ${((total / allowed) * 100).toFixed(1)} %`);
  expect(total).toBeLessThanOrEqual(allowed * 1.1);
  expect(total).toBeGreaterThanOrEqual(BURST * 0.9);
  expect(passed[0]).toBeGreaterThan(0);
  expect(passed[1]).toBeGreaterThan(0);
  expect(first!.headers.get('ratelimit-limit')).toBe(String(BURST));
  expect(first!.headers.get('ratelimit-policy')).toBe(`${BURST};w=10`);
  expect(Number(first!.headers.get('ratelimit-remaining'))).toBeLessThan(BURST);
  expect(limited).toBeDefined();
  expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(limited!.headers.get('ratelimit-remaining')).toBe('0');
});

interface Frames {
  events: { event: string; at: number }[];
  status: number;
  ended: Promise<void>;
  close(): void;
}

function openStream(base: string, path: string, apiKey: string): Promise<Frames> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { headers: { 'X-API-Key': apiKey, Accept: 'text/event-stream' } }, (res) => {
      const events: Frames['events'] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = /^event: (.+)$/m.exec(buffer.slice(0, cut));
          if (event) events.push({ event: event[1], at: Date.now() });
          buffer = buffer.slice(cut + 2);
        }
      });
      const ended = new Promise<void>((done) => res.on('close', () => done()));
      resolve({ events, status: res.statusCode ?? 0, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

it('when a batch is triggered through gateway A, then a stream on gateway B, woken by NOTIFY, shows its runs to the end', async () => {
  expect(b.gateway.shared.notifier.listening).toBe(true);
  const t = await fetch(`${stack.baseUrl}/api/v1/flows/run`, {
    method: 'POST',
    headers: { 'x-api-key': stack.key, 'content-type': 'application/json' },
    body: JSON.stringify({ app_id: stack.appId, flow_ids: ['q1', 'q2', 'q3'] }),
  });
  expect(t.status).toBe(200);
  const { batch_id: batchId, runs } = (await t.json()) as { batch_id: string; runs: unknown[] };
  expect(runs).toHaveLength(3);
  const opened = Date.now();
  const stream = await openStream(b.gateway.url, `/api/v1/batches/${batchId}/events`, stack.key);
  expect(stream.status).toBe(200);
  await stream.ended;
  const names = stream.events.map((e) => e.event);
  expect(names.filter((n) => n === 'run.finished')).toHaveLength(3);
  expect(names.at(-1)).toBe('batch.finished');
  console.log(`[cross-gateway stream] ${names.length} events of a batch triggered on A, read on B, ended ${Date.now() - opened} ms after opening`);
});

it("when an account holds its streams' cap across both gateways, then one more on either is 429", async () => {
  const { apiKey } = await stack.newAccount();
  const app = (await stack.call('POST', '/api/v1/apps', { name: 'x', platform: 'web', baseUrl: 'http://127.0.0.1:9' }, apiKey)).body.id;
  await stack.call('POST', '/api/v1/flows', { id: 'held', name: 'held', steps: [{ id: 'ok', type: 'approval', config: { message: 'hold' } }] }, apiKey);
  const run = await stack.call('POST', '/api/v1/flows/run', { app_id: app, flow_ids: ['held'] }, apiKey);
  expect(run.status).toBe(200);
  const path = `/api/v1/runs/${run.body.runs[0].id}/events`;
  const streams = [await openStream(stack.baseUrl, path, apiKey), await openStream(b.gateway.url, path, apiKey)];
  try {
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    const refused = await get(b.gateway.url, path, apiKey);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: string }).error).toBe('at most 2 event streams per account at once (all its keys together); close one first');
    expect((await get(stack.baseUrl, path, apiKey)).status).toBe(429);
  } finally {
    for (const s of streams) s.close();
  }
  // Closed streams free their places on every gateway.
  const again = await until('a place freed', async () => {
    const s = await openStream(b.gateway.url, path, apiKey);
    if (s.status === 200) return s;
    s.close();
    return undefined;
  }, 10_000);
  again.close();
  await stack.call('POST', `/api/v1/runs/${run.body.runs[0].id}/cancel`, {}, apiKey);
});

/** The sessions holding the watcher's advisory lock (727402) in this database. */
async function lockHolders(): Promise<number[]> {
  const rows: { pid: number }[] = await stack.dataSource.query(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = 727402 AND objsubid = 1 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return rows.map((r) => r.pid);
}

it("when several gateways run, then one holds the watcher's lock; when its session dies, another gateway takes over within seconds", async () => {
  const holders = await until('a leader', async () => ((await lockHolders()).length ? lockHolders() : undefined), 10_000);
  expect(holders).toHaveLength(1);
  // The leader's connection dies as it would with its process (kill -9): Postgres frees the lock.
  const killed = Date.now();
  await stack.dataSource.query('SELECT pg_terminate_backend($1)', [holders[0]]);
  const next = await until('another session holding the lock', async () => {
    const now = await lockHolders();
    return now.length === 1 && now[0] !== holders[0] ? now : undefined;
  }, 15_000);
  console.log(`[watcher] lock taken over ${Date.now() - killed} ms after its holder's session died (holder pid ${holders[0]} -> ${next[0]})`);
  expect(next).toHaveLength(1);
});
