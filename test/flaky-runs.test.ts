/**
 * Flaky runs against the real stack: a run that succeeds as the rerun (or resumption) of a run
 * that failed is flaky — `flaky: true` on it in the run detail, the batch status and the flow's
 * run list, and counted in the flow's stats. A rerun of a run that passed, or one that fails
 * again, is not.
 */
import { runDetailWhenEnded, withStack, type Loose } from './harness';
import { FlakyRuns1734720000000 } from '../db/migrations/1734720000000-flaky-runs';

/** Calls to each path so far: `/flip-N` answers 500 to its first call and 200 after. */
const calls = new Map<string, number>();

/** `stack.accountId` is this file's account: other files' flaky runs share the database. */
const stack = withStack({
  workers: true,
  stub: (req) => {
    const n = (calls.get(req.url) ?? 0) + 1;
    calls.set(req.url, n);
    if (req.url.startsWith('/down')) return { status: 500, body: {} };
    return req.url.startsWith('/flip') && n === 1 ? { status: 500, body: { n } } : { body: { n } };
  },
  app: 'shop',
});

const ended = (runId: string): Promise<Loose> => runDetailWhenEnded(stack, runId, stack.key, 30_000);

async function runFlow(flowId: string): Promise<string> {
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: [flowId] }, stack.key);
  expect(t.status).toBe(200);
  return t.body.runs[0].id;
}

async function rerun(runId: string): Promise<{ batch: string; run: string }> {
  const res = await stack.call('POST', `/api/v1/runs/${runId}/rerun`, undefined, stack.key);
  expect(res.status).toBe(202);
  return { batch: res.body.batch_id, run: res.body.runs[0].id };
}

const flowOf = (id: string, path: string) => ({ id, name: id, steps: [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}${path}` }, retry: { maxAttempts: 1 } }] });

it('when a failed run passes on its rerun, then the rerun is flaky in the run detail, batch status, run list and the flow stats; a rerun of a passed run is not', async () => {
  expect((await stack.call('POST', '/api/v1/flows', flowOf('flips', '/flip-1'), stack.key)).status).toBe(201);
  const first = await runFlow('flips');
  expect(await ended(first)).toMatchObject({ status: 'failed', flaky: false });

  const retry = await rerun(first);
  expect(await ended(retry.run)).toMatchObject({ status: 'succeeded', rerun_of: first, flaky: true });
  const status = await stack.call('GET', `/api/v1/runs/status?batch_id=${retry.batch}`, undefined, stack.key);
  expect(status.body.runs).toEqual([expect.objectContaining({ id: retry.run, status: 'succeeded', flaky: true })]);

  // Rerunning the run that passed: it passes again, which says nothing about flakiness.
  const again = await rerun(retry.run);
  expect(await ended(again.run)).toMatchObject({ status: 'succeeded', rerun_of: retry.run, flaky: false });

  const list = await stack.call('GET', '/api/v1/flows/flips/runs', undefined, stack.key);
  expect(Object.fromEntries(list.body.data.map((r: Loose) => [r.id, r.flaky]))).toEqual({ [first]: false, [retry.run]: true, [again.run]: false });
  expect((await stack.call('GET', `/api/v1/flows/flips/runs/${retry.run}`, undefined, stack.key)).body).toMatchObject({ status: 'SUCCEEDED', flaky: true });
  const stats = await stack.call('GET', '/api/v1/flows/flips/runs/stats', undefined, stack.key);
  expect(stats.body).toMatchObject({ totalRuns: 3, succeeded: 2, failed: 1, flaky: 1 });
});

it('when a failed run fails again on its rerun, then nothing is flaky', async () => {
  expect((await stack.call('POST', '/api/v1/flows', flowOf('always-down', '/down'), stack.key)).status).toBe(201);
  const first = await runFlow('always-down');
  expect((await ended(first)).status).toBe('failed');
  const retry = await rerun(first);
  expect(await ended(retry.run)).toMatchObject({ status: 'failed', flaky: false });
  expect((await stack.call('GET', '/api/v1/flows/always-down/runs/stats', undefined, stack.key)).body).toMatchObject({ failed: 2, flaky: 0 });
});

it('when a failed run is resumed and passes, then the resumed run is flaky', async () => {
  const flow = {
    id: 'resume-flips',
    name: 'resume flips',
    steps: [
      { id: 'first', type: 'transform', config: { expression: '1' } },
      { id: 'call', type: 'http', dependsOn: ['first'], config: { url: `${stack.stub.url}/flip-2` }, retry: { maxAttempts: 1 } },
    ],
  };
  expect((await stack.call('POST', '/api/v1/flows', flow, stack.key)).status).toBe(201);
  const first = await runFlow('resume-flips');
  expect((await ended(first)).status).toBe('failed');
  const res = await stack.call('POST', `/api/v1/runs/${first}/resume`, {}, stack.key);
  expect(res.status).toBe(202);
  const resumed = res.body.runs[0].id;
  expect(await ended(resumed)).toMatchObject({ status: 'succeeded', resumed_from: first, flaky: true });
  expect((await stack.call('GET', '/api/v1/flows/resume-flips/runs/stats', undefined, stack.key)).body).toMatchObject({ succeeded: 1, failed: 1, flaky: 1 });
});

it('when migration 1734720000000 meets runs that ended before it, then its backfill flags them and counts them per flow (down then up, rolled back)', async () => {
  const q = stack.dataSource.createQueryRunner();
  await q.connect();
  await q.startTransaction();
  try {
    const migration = new FlakyRuns1734720000000();
    await migration.down(q);
    // The stats triggers work again without the column (down restored them): a run's change still counts.
    await q.query(`UPDATE runs SET updated_at = now() WHERE account_id = $1 AND flow_id = 'flips'`, [stack.accountId]);
    await migration.up(q);
    const flagged = await q.query(`SELECT flow_id, count(*)::int AS n FROM runs WHERE flaky AND account_id = $1 GROUP BY flow_id ORDER BY flow_id`, [stack.accountId]);
    expect(flagged).toEqual([
      { flow_id: 'flips', n: 1 },
      { flow_id: 'resume-flips', n: 1 },
    ]);
    const stats = await q.query(`SELECT flow_id, total_runs::int AS total, flaky::int AS flaky FROM flow_run_stats WHERE account_id = $1 AND flow_id IN ('flips', 'always-down', 'resume-flips') ORDER BY flow_id`, [stack.accountId]);
    expect(stats).toEqual([
      { flow_id: 'always-down', total: 2, flaky: 0 },
      { flow_id: 'flips', total: 3, flaky: 1 },
      { flow_id: 'resume-flips', total: 2, flaky: 1 },
    ]);
  } finally {
    await q.rollbackTransaction();
    await q.release();
  }
});
