/**
 * The gateway killed with SIGKILL twice while 200 clients trigger, each with an `Idempotency-Key`
 * and retrying (connection refused or reset, 502, 503) with the same key until answered: exactly
 * 200 batches exist, one per key, each the batch its client was answered, and every one of them runs.
 * The gateway is `apps/gateway/main.ts` in a process of its own, restarted on the same port.
 */
import { freePort } from '../../apps/dev/processes';
import type { batchRun } from '../../workflows/batch-run';
import { withStack } from '../harness';
import { pool, sleep, spawnGateway, type PlatformProcess } from './support';

const TRIGGERS = 200;
const CLIENTS = 20;
/** Kills when this many triggers have been answered. */
const KILL_AT = [50, 130];

let port: number;
const gateways: PlatformProcess[] = [];
/** Set when the file ends, so clients of a failed test stop retrying. */
let over = false;

const stack = withStack({
  workers: true,
  app: 'gw-kill',
  teardown: async () => {
    over = true;
    for (const g of gateways) await g.stop();
  },
});

beforeAll(async () => {
  port = await freePort();
  const flow = { id: 'echo', name: 'echo', steps: [{ id: 'echo', type: 'transform', config: { expression: "{ 'n': trigger.body.n }" } }] };
  expect((await stack.call('POST', '/api/v1/flows', flow, stack.key)).status).toBe(201);
  gateways.push(await spawnGateway(stack, port));
}, 120_000);


it('when the gateway is killed -9 during 200 triggers with Idempotency-Key and clients retry, then exactly 200 batches exist, one per key, and all of them run', async () => {
  const started = Date.now();
  const answered = new Map<string, string>();
  const answeredAt = new Map<string, number>();
  const failures = { refused: 0, interrupted: 0, unavailable: 0 };
  let inFlight = 0;
  const deadline = Date.now() + 240_000;

  const trigger = async (_: unknown, i: number): Promise<void> => {
    const idempotencyKey = `gw-kill-${i}`;
    const body = JSON.stringify({ app_id: stack.appId, flow_ids: ['echo'], data: { n: i } });
    for (;;) {
      if (Date.now() > deadline || over) throw new Error(`trigger ${idempotencyKey} was not answered in time`);
      let res: Response;
      inFlight++;
      try {
        res = await fetch(`http://127.0.0.1:${port}/api/v1/flows/run`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': stack.key, 'idempotency-key': idempotencyKey },
          body,
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        // Refused while no gateway listens; anything else cut a request the gateway had taken.
        if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') failures.refused++;
        else failures.interrupted++;
        await sleep(200);
        continue;
      } finally {
        inFlight--;
      }
      if (res.status === 502 || res.status === 503) {
        failures.unavailable++;
        await res.body?.cancel();
        await sleep(500);
        continue;
      }
      const text = await res.text();
      if (res.status !== 200) throw new Error(`trigger ${idempotencyKey} answered ${res.status}: ${text}`);
      answered.set(idempotencyKey, (JSON.parse(text) as { batch_id: string }).batch_id);
      answeredAt.set(idempotencyKey, Date.now());
      return;
    }
  };

  const inFlightAtKill: number[] = [];
  const killedAt: number[] = [];
  const killer = (async () => {
    for (const at of KILL_AT) {
      while (answered.size < at) {
        if (Date.now() > deadline || over) throw new Error(`only ${answered.size} triggers answered`);
        await sleep(10);
      }
      inFlightAtKill.push(inFlight);
      killedAt.push(Date.now());
      await gateways[gateways.length - 1]!.kill9();
      gateways.push(await spawnGateway(stack, port));
    }
  })();
  await Promise.all([pool(Array.from({ length: TRIGGERS }), CLIENTS, trigger), killer]);

  expect(answered.size).toBe(TRIGGERS);
  expect(new Set(answered.values()).size).toBe(TRIGGERS);
  for (const n of inFlightAtKill) expect(n).toBeGreaterThan(0);
  expect(failures.interrupted).toBeGreaterThan(0);

  // Exactly one batch per key, the one its client was answered.
  const batches: { id: string; idempotency_key: string; created: number }[] = await stack.dataSource.query(
    'SELECT id, idempotency_key, (extract(epoch FROM created_at) * 1000)::float8 AS created FROM batches WHERE account_id = $1',
    [stack.accountId],
  );
  expect(batches).toHaveLength(TRIGGERS);
  expect(Object.fromEntries(batches.map((b) => [b.idempotency_key, b.id]))).toEqual(Object.fromEntries(answered));
  // Batches a killed gateway had written, whose clients were answered by its successor.
  const inherited = batches.filter((b) => killedAt.some((k) => b.created < k && answeredAt.get(b.idempotency_key)! > k)).length;

  // None was left half-made (rows without a workflow): every batch runs to its end.
  let runs: Record<string, number> = {};
  for (const until = Date.now() + 180_000; Date.now() < until; await sleep(500)) {
    const rows: { status: string; n: number }[] = await stack.dataSource.query('SELECT status, count(*)::int AS n FROM runs WHERE account_id = $1 GROUP BY status', [stack.accountId]);
    runs = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    if ((runs.succeeded ?? 0) >= TRIGGERS) break;
  }
  expect(runs).toEqual({ succeeded: TRIGGERS });
  const results = await pool([...answered.values()], 20, (id) => stack.client.workflow.getHandle<typeof batchRun>(`batch-${id}`).result());
  expect(results.filter((r) => r.runs.length !== 1 || r.runs[0]!.status !== 'succeeded')).toEqual([]);

  console.log(
    `[faults] gateway kill -9 x${KILL_AT.length} (at ${KILL_AT.join('/')} answered; ${inFlightAtKill.join('/')} triggers in flight): ` +
      `${answered.size}/${TRIGGERS} triggers answered after ${failures.interrupted} requests cut by a kill, ${failures.refused} refused connections and ${failures.unavailable} 502/503 answers, all retried with their key; ` +
      `${batches.length} batches (one per key; ${inherited} written by a gateway before its kill, answered by its successor), ${runs.succeeded} runs succeeded; ${gateways.length} gateway processes; ${Math.round((Date.now() - started) / 1000)}s`,
  );
}, 420_000);
