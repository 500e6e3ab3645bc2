/**
 * The Temporal server restarted mid-batch: a dev server of this test's own, its state in a SQLite
 * file, stopped while runs are in flight and started again on the same port and file. The
 * gateway and worker keep their connections; no run is lost — every run of the batch succeeds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../apps/dev/processes';
import { startTemporalDevServer, type RunningDevServer } from '../../apps/dev/temporal';
import type { batchRun } from '../../workflows/batch-run';
import { startStack, startWorkers, type RunningWorkers, type Stack } from '../harness';
import { startStub, type Stub } from '../stub-server';
import { runStatuses, sleep, startItemBatch, waitForBatch, waitForSucceeded } from './support';

const RUNS = 120;
const DOWN_MS = 5_000;

let dir: string;
let port: number;
let server: RunningDevServer | undefined;
let stack: Stack;
let workers: RunningWorkers;
let stub: Stub;
let key: string;
let appId: string;

const startServer = () =>
  startTemporalDevServer({
    binary: process.env.FLOWRUNS_TEST_TEMPORAL_BINARY!,
    port,
    headless: true,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    dbFile: path.join(dir, 'temporal.db'),
    logFile: path.join(dir, 'temporal.log'),
  });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-temporal-restart-'));
  port = await freePort();
  server = await startServer();
  stack = await startStack({ env: { TEMPORAL_ADDRESS: server.address } });
  workers = await startWorkers(stack);
  stub = await startStub(() => ({ body: { ok: true }, delayMs: 300 }));
  ({ apiKey: key } = await stack.newAccount());
  appId = (await stack.call('POST', '/api/v1/apps', { name: 'restart', platform: 'web', baseUrl: stub.url }, key)).body.id;
}, 120_000);

afterAll(async () => {
  await workers?.stop();
  await stub?.close();
  await stack?.stop();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('when the Temporal server restarts mid-batch on its persisted state, then no run is lost: every run of the batch succeeds', async () => {
  const started = Date.now();
  const { flowIds, batchId } = await startItemBatch(stack, key, appId, stub.url, RUNS);

  // Mid-batch: a quarter done, and runs in flight.
  await waitForSucceeded(stack.dataSource, batchId, RUNS / 4, 120_000);
  let before = await runStatuses(stack.dataSource, batchId);
  for (const deadline = Date.now() + 60_000; (before.running ?? 0) < 2 && Date.now() < deadline; ) {
    await sleep(50);
    before = await runStatuses(stack.dataSource, batchId);
  }
  await server!.stop();
  const down = Date.now();
  await sleep(DOWN_MS);
  server = await startServer();
  const downFor = Date.now() - down;

  const counts = await waitForBatch(stack.dataSource, batchId, RUNS, 240_000);
  expect(counts).toEqual({ succeeded: RUNS });
  expect(before.running ?? 0).toBeGreaterThanOrEqual(2);
  expect(before.queued ?? 0).toBeGreaterThan(0);
  const batch = stack.client.workflow.getHandle<typeof batchRun>(`batch-${batchId}`);
  expect((await batch.result()).runs.map((r) => r.status)).toEqual(Array(RUNS).fill('succeeded'));
  const status = await stack.call('GET', `/api/v1/runs/status?batch_id=${batchId}`, undefined, key);
  expect(status.body).toMatchObject({ is_complete: true, status: 'succeeded' });

  // Each run called its service at least once, and more only for a step recorded as retried.
  const attempts: { flow_id: string; attempts: number }[] = await stack.dataSource.query(
    `SELECT r.flow_id, s.attempts FROM runs r JOIN step_runs s ON s.run_id = r.id AND s.step_id = 'call' WHERE r.batch_id = $1`,
    [batchId],
  );
  const calls = new Map<string, number>();
  for (const r of stub.requests) {
    const flowId = flowIds[Number(r.url.slice('/item/'.length))]!;
    calls.set(flowId, (calls.get(flowId) ?? 0) + 1);
  }
  expect(attempts).toHaveLength(RUNS);
  expect(attempts.filter((a) => !calls.get(a.flow_id) || calls.get(a.flow_id)! > a.attempts)).toEqual([]);
  console.log(
    `[faults] Temporal restart (down ${downFor}ms, with ${before.succeeded ?? 0} succeeded / ${before.running ?? 0} running / ${before.queued ?? 0} queued): ` +
      `${counts.succeeded}/${RUNS} runs succeeded, 0 lost; stub calls ${stub.requests.length} for ${RUNS} runs, ${attempts.filter((a) => a.attempts > 1).length} http steps retried; ` +
      `${Math.round((Date.now() - started) / 1000)}s`,
  );
}, 420_000);
