/**
 * The production shape under load: the real Temporal server (Postgres, TLS, 4 shards), two gateways
 * and two workers from the build. 1,000 runs triggered through both gateways all succeed; then a
 * worker and a gateway are killed -9 mid-batch, and no run is lost or doubled.
 */
import { createFlows, inFlight, newTenant, pool, startProductionStack, statuses, waitForEnd, type ProductionStack } from './support';

let s: ProductionStack;
let key: string;
let appId: string;
let flowIds: string[];
const RUNS_PER_BATCH = 100;

beforeAll(async () => {
  s = await startProductionStack();
  ({ key, appId } = await newTenant(s));
  flowIds = await createFlows(s, key, 'r', RUNS_PER_BATCH);
}, 300_000);

afterAll(async () => {
  await s?.stop();
}, 120_000);

/** Triggers one batch of every flow through gateway `gw`; answers its id. */
async function trigger(gw: number): Promise<string> {
  const t = await s.call(gw, 'POST', '/api/v1/flows/run', { app_id: appId, flow_ids: flowIds, max_parallel: 50 }, key);
  if (t.status !== 200) throw new Error(`the trigger through gateway ${gw} answered ${t.status}: ${JSON.stringify(t.body)}`);
  return t.body.batch_id as string;
}

/** Per run of `batchIds`: attempts of its http step, request rows, the final attempt's rows. */
async function requestAccounting(batchIds: string[]) {
  const { rows } = await s.db.query<{ run_id: string; attempts: number; requests: number; final: number }>(
    `SELECT r.id AS run_id, s.attempts, count(q.*)::int AS requests, count(q.*) FILTER (WHERE q.attempt = s.attempts)::int AS final
       FROM runs r JOIN step_runs s ON s.run_id = r.id AND s.step_id = 'call' LEFT JOIN run_requests q ON q.run_id = r.id AND q.step_id = 'call'
      WHERE r.batch_id = ANY($1) GROUP BY r.id, s.attempts`,
    [batchIds],
  );
  const { rows: [steps] } = await s.db.query<{ n: number; distinct_n: number }>(
    'SELECT count(*)::int AS n, count(DISTINCT (s.run_id, s.step_id))::int AS distinct_n FROM step_runs s JOIN runs r ON r.id = s.run_id WHERE r.batch_id = ANY($1)',
    [batchIds],
  );
  return { rows, steps: steps! };
}

it('when 1,000 runs are triggered through both gateways (10 batches of 100, alternating), then all 1,000 succeed', async () => {
  const started = Date.now();
  const callsBefore = s.stub.requests.length;
  const batchIds = await pool(Array.from({ length: 10 }, (_, i) => i), 2, (i) => trigger(i % 2));
  const counts = await waitForEnd(s.db, batchIds, 10 * RUNS_PER_BATCH, 600_000);
  const seconds = (Date.now() - started) / 1000;
  const { rows, steps } = await requestAccounting(batchIds);
  const calls = s.stub.requests.length - callsBefore;
  console.log(
    `[production] 1,000 runs through 2 gateways / 2 workers on Temporal ${s.temporal.address} (TLS, Postgres): ${JSON.stringify(counts)} in ${seconds.toFixed(1)}s ` +
      `(${(1000 / seconds).toFixed(1)} runs/s); step rows ${steps.n} (${steps.n - steps.distinct_n} duplicates); stub calls ${calls}; ` +
      `runs with a retried http step ${rows.filter((r) => r.attempts > 1).length}`,
  );
  expect(counts).toEqual({ succeeded: 1000 });
  expect(steps.n).toBe(steps.distinct_n);
  expect(rows.filter((r) => r.final !== 1 || r.requests > r.attempts)).toEqual([]);
  expect(calls).toBeGreaterThanOrEqual(1000);
  expect(calls).toBeLessThanOrEqual(rows.reduce((n, r) => n + r.attempts, 0));
}, 900_000);

it('when a worker and a gateway are killed -9 mid-batch, then every batch ends, every run succeeds, and no request is doubled', async () => {
  const started = Date.now();
  const callsBefore = s.stub.requests.length;
  const batchIds = [await trigger(0), await trigger(1)];
  // Mid-batch: some runs done, most still to come, and some in flight on the workers.
  const deadline = Date.now() + 300_000;
  let done = 0;
  let running = 0;
  while ((done = (await statuses(s.db, batchIds)).succeeded ?? 0) < 30 || (running = await inFlight(s.db, batchIds)) === 0) {
    if (Date.now() > deadline) throw new Error(`${done} runs succeeded and ${running} in flight: no moment for the kills`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await s.workers[1]!.kill9();
  await s.gateways[1]!.proc.kill9();
  // The surviving gateway takes the next trigger; the killed one comes back on its port and takes another.
  batchIds.push(await trigger(0));
  await s.startGateway(1);
  batchIds.push(await trigger(1));
  const total = batchIds.length * RUNS_PER_BATCH;
  const counts = await waitForEnd(s.db, batchIds, total, 600_000);
  const { rows, steps } = await requestAccounting(batchIds);
  const calls = s.stub.requests.length - callsBefore;
  const attempts = rows.reduce((n, r) => n + r.attempts, 0);
  const retried = rows.filter((r) => r.attempts > 1).length;
  console.log(
    `[production] kill -9 of worker 1 and gateway 1 at ${done} succeeded (${running} in flight): ${JSON.stringify(counts)} of ${total} runs in ${batchIds.length} batches, ` +
      `${((Date.now() - started) / 1000).toFixed(1)}s; step rows ${steps.n} (${steps.n - steps.distinct_n} duplicates); stub calls ${calls} = ${total} + ${calls - total} repeats ` +
      `(${retried} retried http steps, ${attempts} attempts); runs with more than one final request ${rows.filter((r) => r.final > 1).length}`,
  );
  expect(counts).toEqual({ succeeded: total });
  expect(steps.n).toBe(steps.distinct_n);
  expect(rows).toHaveLength(total);
  expect(rows.filter((r) => r.final !== 1 || r.requests > r.attempts)).toEqual([]);
  expect(calls).toBeLessThanOrEqual(attempts);
  const { rows: [b] } = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM runs WHERE batch_id = ANY($1)', [batchIds]);
  expect(b!.n).toBe(total);
}, 900_000);
