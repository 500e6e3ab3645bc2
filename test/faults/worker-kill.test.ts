/**
 * A worker killed with SIGKILL — no shutdown, no drain — three times during a 500-run batch, a
 * replacement started each time: every run finishes, no step or request is recorded twice, and
 * the service the flows call sees a repeated call only from a step that was retried.
 */
import { retentionScheduleId } from '../../apps/worker/retention';
import type { batchRun } from '../../workflows/batch-run';
import { startStack, type Stack } from '../harness';
import { startStub, type Stub } from '../stub-server';
import { createFlows, runStatuses, shortFlowIds, spawnWorker, waitForBatch, waitForSucceeded, type PlatformProcess } from './support';

const RUNS = 500;
/** Kills when this many runs have succeeded. */
const KILL_AT = [100, 250, 400];

let stack: Stack;
let stub: Stub;
const workers: PlatformProcess[] = [];
let key: string;
let appId: string;

beforeAll(async () => {
  stack = await startStack();
  stub = await startStub((req) => ({ body: { item: req.url }, delayMs: 200 }));
  ({ apiKey: key } = await stack.newAccount());
  appId = (await stack.call('POST', '/api/v1/apps', { name: 'kill', platform: 'web', baseUrl: stub.url }, key)).body.id;
}, 120_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  await stack?.client.schedule.getHandle(retentionScheduleId(stack.taskQueue)).delete().catch(() => undefined);
  await stub?.close();
  await stack?.stop();
}, 60_000);

it('when the worker is killed -9 three times during a 500-run batch, then 500/500 runs succeed, no step or request row is doubled, and only retried steps called the service again', async () => {
  const started = Date.now();
  // Four attempts: three kills can cost a step at most three of them.
  const retry = { maxAttempts: 4 };
  const flowIds = shortFlowIds(RUNS);
  await createFlows(stack, key, flowIds, (i) => ({
    steps: [
      { id: 'call', type: 'http', config: { url: `${stub.url}/item/${i}` }, retry },
      { id: 'shape', type: 'transform', config: { expression: "{ 'item': steps.call.output.body.item }" }, retry },
    ],
  }));
  workers.push(await spawnWorker(stack));
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: flowIds, max_parallel: 50 }, key);
  expect(t.status).toBe(200);
  expect(t.body.runs).toHaveLength(RUNS);
  const batchId: string = t.body.batch_id;

  const runningAtKill: number[] = [];
  for (const at of KILL_AT) {
    await waitForSucceeded(stack.dataSource, batchId, at, 240_000);
    runningAtKill.push((await runStatuses(stack.dataSource, batchId)).running ?? 0);
    await workers[workers.length - 1]!.kill9();
    workers.push(await spawnWorker(stack));
  }

  const counts = await waitForBatch(stack.dataSource, batchId, RUNS, 300_000);
  expect(counts).toEqual({ succeeded: RUNS });
  // Every kill landed on runs in flight.
  for (const n of runningAtKill) expect(n).toBeGreaterThan(0);
  const status = await stack.call('GET', `/api/v1/runs/status?batch_id=${batchId}`, undefined, key);
  expect(status.body.is_complete).toBe(true);
  expect(status.body.runs.filter((r: { status: string }) => r.status === 'succeeded')).toHaveLength(RUNS);
  const result = await stack.client.workflow.getHandle<typeof batchRun>(`batch-${batchId}`).result();
  expect(result.runs.filter((r) => r.status === 'succeeded')).toHaveLength(RUNS);

  // One row per step of every run, each succeeded.
  const [steps] = await stack.dataSource.query(
    `SELECT count(*)::int AS n, count(DISTINCT (s.run_id, s.step_id))::int AS distinct_n, count(*) FILTER (WHERE s.status <> 'succeeded')::int AS not_succeeded
       FROM step_runs s JOIN runs r ON r.id = s.run_id WHERE r.batch_id = $1`,
    [batchId],
  );
  expect(steps).toEqual({ n: RUNS * 2, distinct_n: RUNS * 2, not_succeeded: 0 });

  // At most one request row per attempt of a step, one for the attempt that succeeded, none for an attempt that never was.
  const perRun: { flow_id: string; attempts: number; requests: number; final: number; latest: number }[] = await stack.dataSource.query(
    `SELECT r.flow_id, s.attempts, count(q.*)::int AS requests, count(q.*) FILTER (WHERE q.attempt = s.attempts)::int AS final, coalesce(max(q.attempt), 0)::int AS latest
       FROM runs r JOIN step_runs s ON s.run_id = r.id AND s.step_id = 'call' LEFT JOIN run_requests q ON q.run_id = r.id AND q.step_id = 'call'
      WHERE r.batch_id = $1 GROUP BY r.flow_id, s.attempts`,
    [batchId],
  );
  expect(perRun).toHaveLength(RUNS);
  const [dupRequests] = await stack.dataSource.query(
    `SELECT count(*)::int AS n FROM (SELECT q.run_id, q.step_id, q.attempt FROM run_requests q JOIN runs r ON r.id = q.run_id WHERE r.batch_id = $1 GROUP BY 1, 2, 3 HAVING count(*) > 1) d`,
    [batchId],
  );
  expect(dupRequests.n).toBe(0);
  const calls = new Map<string, number>();
  for (const r of stub.requests) {
    const flowId = flowIds[Number(r.url.slice('/item/'.length))]!;
    calls.set(flowId, (calls.get(flowId) ?? 0) + 1);
  }
  const wrong = perRun.filter((r) => r.final !== 1 || r.requests > r.attempts || r.latest > r.attempts || (calls.get(r.flow_id) ?? 0) < 1 || calls.get(r.flow_id)! > r.attempts);
  expect(wrong).toEqual([]);

  const retriedSteps = perRun.filter((r) => r.attempts > 1).length;
  const repeatedCalls = stub.requests.length - RUNS;
  const [transforms] = await stack.dataSource.query(
    `SELECT count(*) FILTER (WHERE s.attempts > 1)::int AS retried FROM step_runs s JOIN runs r ON r.id = s.run_id WHERE r.batch_id = $1 AND s.step_id = 'shape'`,
    [batchId],
  );
  const [requestRows] = await stack.dataSource.query(`SELECT count(*)::int AS n FROM run_requests q JOIN runs r ON r.id = q.run_id WHERE r.batch_id = $1`, [batchId]);
  console.log(
    `[faults] worker kill -9 x${KILL_AT.length} (at ${KILL_AT.join('/')} succeeded; ${runningAtKill.join('/')} runs in flight): ` +
      `${counts.succeeded}/${RUNS} runs succeeded; step rows ${steps.n} (0 duplicates); request rows ${requestRows.n} (${dupRequests.n} duplicates); ` +
      `stub calls ${stub.requests.length} = ${RUNS} + ${repeatedCalls} repeats, from ${retriedSteps} retried http steps; ${transforms.retried} retried transforms; ` +
      `${workers.length} worker processes; ${Math.round((Date.now() - started) / 1000)}s`,
  );
}, 600_000);
