/**
 * What several gateways share on the production shape (the real Temporal server with TLS, two
 * gateways, two workers from the build): one rate limit per key across both gateways, a live
 * stream on one gateway showing runs triggered through the other, and one watcher of operator
 * actions in Temporal, whose leadership (a Postgres advisory lock) passes on when its holder dies.
 */
import { Client, Connection } from '@temporalio/client';
import { connectionOptions, loadTemporalSettings } from '../../platform/temporal-connection';
import { createFlows, gatewayOfBackend, newTenant, pool, sleep, startProductionStack, watcherHolder, type ProductionStack } from './support';

const PER_MINUTE = 600;
let s: ProductionStack;
let key: string;
let appId: string;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  s = await startProductionStack({ env: { FLOWRUNS_RATE_LIMIT_PER_MINUTE: String(PER_MINUTE) } });
  ({ key, appId } = await newTenant(s));
  connection = await Connection.connect(connectionOptions(loadTemporalSettings(s.temporal.env)));
  client = new Client({ connection, namespace: s.temporal.namespace });
}, 300_000);

afterAll(async () => {
  await connection?.close();
  await s?.stop();
}, 120_000);

it("when one key hammers both gateways, then they together allow what one key's bucket allows (within 10 %)", async () => {
  const { key: hammerKey } = await newTenant(s);
  await sleep(10_000); // the bucket full again after the tenant's own requests
  const codes = { ok: 0, limited: 0, other: 0 };
  const perGateway = [0, 0];
  let burst = 0;
  const started = Date.now();
  await pool(Array.from({ length: 600 }, (_, i) => i), 8, async (i) => {
    const res = await s.call(i % 2, 'GET', '/api/v1/flows', undefined, hammerKey);
    burst ||= Number(res.headers.get('ratelimit-limit') ?? 0);
    if (res.status === 200) {
      codes.ok++;
      perGateway[i % 2]!++;
    } else if (res.status === 429) codes.limited++;
    else codes.other++;
  });
  const seconds = (Date.now() - started) / 1000;
  // A full bucket (the burst) plus what it refills at PER_MINUTE a minute while the loop ran.
  const expected = burst + (PER_MINUTE / 60) * seconds;
  const ratio = codes.ok / expected;
  console.log(
    `[production] rate limit ${PER_MINUTE}/min (burst ${burst}) across 2 gateways: 600 requests in ${seconds.toFixed(1)}s -> ${codes.ok} 2xx ` +
      `(${perGateway.join(' + ')}), ${codes.limited} 429, ${codes.other} other; one bucket allows ${expected.toFixed(0)}: ${(ratio * 100).toFixed(1)} %`,
  );
  expect(codes.other).toBe(0);
  expect(burst).toBeGreaterThan(0);
  expect(Math.abs(ratio - 1)).toBeLessThanOrEqual(0.1);
}, 120_000);

it('when runs are triggered through gateway B, then a live stream on gateway A shows every one of them', async () => {
  await sleep(10_000); // the key's bucket full again
  const flowIds = await createFlows(s, key, 'st', 20);
  await sleep(5_000);
  const t = await s.call(1, 'POST', '/api/v1/flows/run', { app_id: appId, flow_ids: flowIds, max_parallel: 20 }, key);
  expect(t.status).toBe(200);
  const batchId = t.body.batch_id as string;
  const res = await fetch(`${s.gateways[0]!.url}/api/v1/batches/${batchId}/events`, { headers: { 'x-api-key': key }, signal: AbortSignal.timeout(180_000) });
  expect(res.status).toBe(200);
  const finished = new Set<string>();
  const latencies: number[] = [];
  const names = new Map<string, number>();
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = res.body!.getReader();
  reading: for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (!name || !data) continue;
      const event = JSON.parse(data) as { run_id: string; timestamp: string };
      names.set(name, (names.get(name) ?? 0) + 1);
      latencies.push(Date.now() - Date.parse(event.timestamp));
      if (name === 'run.finished') finished.add(event.run_id);
      if (name === 'batch.finished') break reading;
    }
  }
  await reader.cancel().catch(() => undefined);
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  console.log(
    `[production] stream on gateway A of a batch triggered through gateway B: ${finished.size}/20 runs finished seen, ${latencies.length} events ` +
      `(${[...names].map(([n, c]) => `${n} ${c}`).join(', ')}); latency from the line's timestamp to gateway A's client p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, max ${p(1)} ms`,
  );
  expect(finished.size).toBe(20);
}, 240_000);

/** The run's internal id, status, and how many run.finished lines it has. */
async function runRow(publicId: string): Promise<{ id: string; status: string; finished: number }> {
  const { rows } = await s.db.query<{ id: string; status: string; finished: number }>(
    `SELECT r.id, r.status, (SELECT count(*)::int FROM run_logs l WHERE l.run_id = r.id AND l.key = 'run.finished') AS finished FROM runs r WHERE r.public_id = $1 OR r.id::text = $1`,
    [publicId],
  );
  return rows[0]!;
}

/** Terminates the run's workflow in Temporal; answers how long until the run's row said cancelled (no API read in between). */
async function terminateAndWait(runId: string): Promise<number> {
  const { id } = await runRow(runId);
  const started = Date.now();
  await client.workflow.getHandle(`run-${id}`).terminate('operator in the Temporal UI');
  for (;;) {
    if ((await runRow(runId)).status === 'cancelled') return Date.now() - started;
    if (Date.now() - started > 60_000) throw new Error(`run ${runId} was not reconciled within 60 s`);
    await sleep(100);
  }
}

it('when runs are terminated in Temporal, then the API shows each once, with one watcher, which another gateway takes over within seconds when its holder is killed -9', async () => {
  await sleep(10_000);
  s.stub.setHandler((req) => (req.url.startsWith('/slow/') ? { body: { slow: true }, delayMs: 20_000 } : { body: { item: req.url }, delayMs: 20 }));
  const flowIds = await createFlows(s, key, 'slow', 2);
  const t = await s.call(0, 'POST', '/api/v1/flows/run', { app_id: appId, flow_ids: flowIds, max_parallel: 2 }, key);
  expect(t.status).toBe(200);
  const runIds = (t.body.runs as { id: string }[]).map((r) => r.id);
  for (const r of runIds) {
    while ((await runRow(r)).status !== 'running') await sleep(100);
  }

  const holder = await watcherHolder(s.db);
  const leader = holder === undefined ? undefined : await gatewayOfBackend(s, holder);
  const { rows: [locks] } = await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = 727402 AND classid = 0");
  expect(locks!.n).toBe(1);
  expect(leader).toBeDefined();
  const other = 1 - leader!;

  const first = await terminateAndWait(runIds[0]!);
  const api1 = await s.call(other, 'GET', `/api/v1/runs/${runIds[0]}`, undefined, key);

  await s.gateways[leader!]!.proc.kill9();
  const killedAt = Date.now();
  let next: number | undefined;
  while ((next = await watcherHolder(s.db)) === undefined || next === holder) {
    if (Date.now() - killedAt > 60_000) throw new Error('no gateway took the watcher over within 60 s');
    await sleep(50);
  }
  const takeover = Date.now() - killedAt;
  const newLeader = await gatewayOfBackend(s, next);
  const second = await terminateAndWait(runIds[1]!);
  const api2 = await s.call(other, 'GET', `/api/v1/runs/${runIds[1]}`, undefined, key);
  const rows = await Promise.all(runIds.map(runRow));
  console.log(
    `[production] watcher: 1 advisory lock holder (gateway ${leader}); a terminate in Temporal reached the run's row in ${first} ms; ` +
      `kill -9 of gateway ${leader} -> gateway ${newLeader} took the lock over in ${takeover} ms; the next terminate reached the row in ${second} ms; ` +
      `run.finished lines per run ${rows.map((r) => r.finished).join(', ')}`,
  );
  expect(newLeader).toBe(other);
  for (const api of [api1, api2]) {
    expect(api.status).toBe(200);
    expect(api.body.status).toBe('cancelled');
  }
  expect(rows.map((r) => r.finished)).toEqual([1, 1]);
  await s.startGateway(leader!);
}, 240_000);
