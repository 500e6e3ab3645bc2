/**
 * Retention against the real stack: the daily sweep (its Temporal Schedule triggered now) deletes
 * exactly the finished runs older than their account's `retentionDays` — with their steps, logs,
 * requests and files — and never an open run or a recent one.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureRetentionSchedule, retentionScheduleId } from '../apps/worker/retention';
import { startStack, startWorkers, sweepRetentionNow, type RunningWorkers, type Stack } from './harness';

let stack: Stack;
let workers: RunningWorkers;

beforeAll(async () => {
  stack = await startStack();
  workers = await startWorkers(stack);
});

afterAll(async () => {
  await stack?.client.schedule.getHandle(retentionScheduleId(stack.config.taskQueue)).delete().catch(() => undefined);
  await workers?.stop();
  await stack?.stop();
});

it('when the retention sweep runs, then it deletes exactly the old finished runs of each account, their records and files, and nothing open', async () => {
  const a = await stack.newAccount();
  const b = await stack.newAccount();
  expect((await stack.call('GET', '/api/v1/settings', undefined, a.apiKey)).body).toEqual({ retentionDays: 30 });
  expect((await stack.call('PUT', '/api/v1/settings', { retentionDays: 0 }, a.apiKey)).body.detail[0].loc).toEqual(['body', 'retentionDays']);
  expect((await stack.call('PUT', '/api/v1/settings', { retentionDays: 7 }, a.apiKey)).body).toEqual({ retentionDays: 7 });

  const flow = { id: 'kept', name: 'kept', steps: [{ id: 'x', type: 'transform', config: { expression: '1' } }] };
  const runsOf = async (key: string, n: number): Promise<string[]> => {
    await stack.call('POST', '/api/v1/flows', flow, key);
    const app = (await stack.call('POST', '/api/v1/apps', { name: 'kept', platform: 'web' }, key)).body.id;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await stack.call('POST', '/api/v1/flows/run', { app_id: app, flow_ids: ['kept'] }, key)).body.runs[0].id);
    for (const id of ids) {
      const deadline = Date.now() + 30_000;
      while ((await stack.call('GET', `/api/v1/runs/${id}`, undefined, key)).body.status !== 'succeeded') {
        if (Date.now() > deadline) throw new Error(`run ${id} did not finish`);
        await new Promise((r) => setTimeout(r, 150));
      }
    }
    return ids;
  };
  const [aOld, aRecent, aOpen] = await runsOf(a.apiKey, 3);
  const [bTwentyDays] = await runsOf(b.apiKey, 1);
  const age = (id: string, days: number, status = 'succeeded') =>
    stack.dataSource.query(`UPDATE runs SET finished_at = now() - make_interval(days => $2), status = $3 WHERE id = $1`, [id, days, status]);
  await age(aOld!, 8); // past A's 7 days
  await age(aRecent!, 6); // within them
  await age(aOpen!, 40, 'running'); // old but not finished: never deleted
  await age(bTwentyDays!, 20); // within B's default 30 days
  const files = path.join(stack.config.artifactsDir, 'runs', aOld!, 'x');
  mkdirSync(files, { recursive: true });
  writeFileSync(path.join(files, 'shot.png'), 'png');

  const batchOf = async (id: string): Promise<string> => (await stack.dataSource.query('SELECT batch_id FROM runs WHERE id = $1', [id]))[0].batch_id;
  const [oldBatch, recentBatch] = [await batchOf(aOld!), await batchOf(aRecent!)];

  await ensureRetentionSchedule(stack.client, stack.config.taskQueue); // a second worker's start (in sweepRetentionNow) changes nothing
  // The test run shares one database: other files' old finished runs (seeded histories) go too, so only this test's runs are counted exactly.
  const swept = (await sweepRetentionNow(stack)) as { runs: number; batches: number };
  expect(swept.runs).toBeGreaterThanOrEqual(1);
  expect(swept.batches).toBeGreaterThanOrEqual(1);

  const left: { id: string }[] = await stack.dataSource.query('SELECT id FROM runs WHERE id = ANY($1::text[]) ORDER BY id', [[aOld, aRecent, aOpen, bTwentyDays]]);
  expect(left.map((r) => r.id).sort()).toEqual([aRecent, aOpen, bTwentyDays].sort());
  const orphans: unknown[] = await stack.dataSource.query('SELECT 1 FROM step_runs WHERE run_id = $1 UNION ALL SELECT 1 FROM run_logs WHERE run_id = $1', [aOld]);
  expect(orphans).toHaveLength(0);
  expect(await stack.dataSource.query('SELECT id FROM batches WHERE id = ANY($1::text[])', [[oldBatch, recentBatch]])).toEqual([{ id: recentBatch }]);
  expect(existsSync(path.join(stack.config.artifactsDir, 'runs', aOld!))).toBe(false);
  expect((await stack.call('GET', `/api/v1/runs/${aOld}`, undefined, a.apiKey)).status).toBe(404);
});
