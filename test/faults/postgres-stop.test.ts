/**
 * Postgres stopped for 30 s mid-batch — a real shutdown of a server of this test's own (every
 * connection terminated, none accepted), then started again on the same port and data. Where
 * test/postgres-outage.test.ts cuts a proxy for 6 s under two runs, this keeps the database away
 * for longer than the record activities' backoff cap, under a batch with steps in flight: no step
 * fails or is retried because of it, no service is called twice, and every record converges.
 */
import type { batchRun } from '../../workflows/batch-run';
import type { Stack } from '../harness';
import type { Stub } from '../stub-server';
import { runStatuses, sleep, startItemBatch, startOnOwnPostgres, waitForBatch, waitForSucceeded, type OwnPostgresStack } from './support';

const RUNS = 60;
const DOWN_MS = 30_000;

let own: OwnPostgresStack | undefined;
let stack: Stack;
let stub: Stub;
let key: string;
let appId: string;

beforeAll(async () => {
  own = await startOnOwnPostgres('postgres-stop', 3000);
  ({ stack, stub, key, appId } = own);
}, 180_000);

afterAll(async () => {
  await own?.stop();
}, 90_000);

it('when Postgres is stopped for 30 s mid-batch, then no step fails or repeats because of it and every record converges', async () => {
  const started = Date.now();
  const { batchId } = await startItemBatch(stack, key, appId, stub.url, RUNS);

  // Mid-batch: some runs done, and steps inside their service call (it reached the stub, its record is not written yet).
  const callRecorded = async (): Promise<number> =>
    (
      await stack.dataSource.query(
        `SELECT count(*)::int AS n FROM step_runs s JOIN runs r ON r.id = s.run_id WHERE r.batch_id = $1 AND s.step_id = 'call' AND s.status = 'succeeded'`,
        [batchId],
      )
    )[0].n;
  await waitForSucceeded(stack.dataSource, batchId, 5, 120_000);
  let inCall = 0;
  const deadline = Date.now() + 120_000;
  while ((inCall = stub.requests.length - (await callRecorded())) < 3 && Date.now() < deadline) await sleep(50);
  expect(inCall).toBeGreaterThanOrEqual(3);
  const before = await runStatuses(stack.dataSource, batchId);
  await own!.pg!.stop();
  own!.pg = undefined;
  await sleep(DOWN_MS);
  own!.pg = await own!.startPostgres();

  const counts = await waitForBatch(stack.dataSource, batchId, RUNS, 300_000);
  expect(counts).toEqual({ succeeded: RUNS });
  expect(before.running ?? 0).toBeGreaterThan(0);
  const status = await stack.call('GET', `/api/v1/runs/status?batch_id=${batchId}`, undefined, key);
  expect(status.body).toMatchObject({ is_complete: true, status: 'succeeded' });
  const result = await stack.client.workflow.getHandle<typeof batchRun>(`batch-${batchId}`).result();
  expect(result.runs.filter((r) => r.status === 'succeeded')).toHaveLength(RUNS);

  // Every step recorded once, succeeded at its first attempt; every service called once.
  const steps: { step_id: string; status: string; attempts: number; n: number }[] = await stack.dataSource.query(
    `SELECT s.step_id, s.status, s.attempts, count(*)::int AS n FROM step_runs s JOIN runs r ON r.id = s.run_id WHERE r.batch_id = $1 GROUP BY 1, 2, 3 ORDER BY 1`,
    [batchId],
  );
  expect(steps).toEqual([
    { step_id: 'call', status: 'succeeded', attempts: 1, n: RUNS },
    { step_id: 'shape', status: 'succeeded', attempts: 1, n: RUNS },
  ]);
  expect(new Set(stub.requests.map((r) => r.url)).size).toBe(RUNS);
  expect(stub.requests).toHaveLength(RUNS);
  const [records] = await stack.dataSource.query(
    `SELECT (SELECT count(*)::int FROM run_requests q JOIN runs r ON r.id = q.run_id WHERE r.batch_id = $1) AS requests,
            (SELECT count(*)::int FROM runs WHERE batch_id = $1 AND (finished_at IS NULL OR duration_ms IS NULL)) AS unfinished,
            (SELECT count(*)::int FROM run_logs l JOIN runs r ON r.id = l.run_id WHERE r.batch_id = $1 AND l.level IN ('warn', 'error')) AS warnings`,
    [batchId],
  );
  expect(records).toEqual({ requests: RUNS, unfinished: 0, warnings: 0 });
  console.log(
    `[faults] Postgres stopped ${DOWN_MS / 1000}s (with ${before.succeeded ?? 0} succeeded / ${before.running ?? 0} running, ${inCall} steps inside their service call): ` +
      `${counts.succeeded}/${RUNS} runs succeeded; 0 steps failed or retried; stub calls ${stub.requests.length}; request rows ${records.requests}; ` +
      `${Math.round((Date.now() - started) / 1000)}s`,
  );
}, 480_000);
