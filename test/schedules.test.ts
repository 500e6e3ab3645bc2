/**
 * Schedules on real Temporal Schedules: an interval fires fresh batches marked `source: schedule`;
 * pausing (in the API or with the `temporal` CLI) stops it; trigger-now and backfill start the
 * batches they should; `skip` skips while a firing still runs; ids are the account's own.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { until, withStack, type Loose } from './harness';

const exec = promisify(execFile);
/** How long a schedule may take to fire or a batch to end before a test gives up. */
const WAIT_MS = 20_000;

const created: string[] = [];

const stack = withStack({
  workers: true,
  stub: true,
  app: 'shop',
  teardown: async () => {
    for (const id of created) await stack.call('DELETE', `/api/v1/schedules/${id}`, undefined, stack.key).catch(() => undefined);
  },
});

beforeAll(async () => {
  await stack.call('POST', '/api/v1/flows', { id: 'tick', name: 'tick', steps: [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/tick` } }] }, stack.key);
  await stack.call('POST', '/api/v1/flows', { id: 'slow', name: 'slow', steps: [{ id: 'wait', type: 'delay', config: { durationMs: 6000 } }] }, stack.key);
});

async function create(body: Record<string, unknown>, apiKey = stack.key) {
  const res = await stack.call('POST', '/api/v1/schedules', body, apiKey);
  if (res.status === 201 && apiKey === stack.key) created.push(res.body.id);
  return res;
}

const batchesOf = async (id: string): Promise<{ id: string; source: string }[]> =>
  stack.dataSource.query(`SELECT id, source FROM batches WHERE account_id = $1 AND schedule_id = $2 ORDER BY created_at`, [stack.accountId, id]);

const get = (id: string) => stack.call('GET', `/api/v1/schedules/${id}`, undefined, stack.key);

it('when an interval schedule runs, then it fires fresh batches with source schedule whose runs succeed, listed in recentRuns', async () => {
  const res = await create({ id: 'every-2s', spec: { intervalSeconds: 2 }, trigger: { app_id: stack.appId, flow_ids: ['tick'] }, overlap: 'allow_all', note: 'smoke' });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ id: 'every-2s', spec: { intervalSeconds: 2 }, timezone: 'UTC', overlap: 'allow_all', paused: false, note: 'smoke' });
  expect(res.body.nextRuns.length).toBeGreaterThan(0);

  const batches = await until('two firings', async () => {
    const b = await batchesOf('every-2s');
    return b.length >= 2 ? b : undefined;
  }, WAIT_MS);
  expect(new Set(batches.map((b) => b.id)).size).toBe(batches.length);
  const status = await until('the first batch to complete', async () => {
    const s = await stack.call('GET', `/api/v1/runs/status?batch_id=${batches[0].id}`, undefined, stack.key);
    return s.body.is_complete ? s.body : undefined;
  }, WAIT_MS);
  expect(status).toMatchObject({ status: 'succeeded', source: 'schedule', schedule_id: 'every-2s', actor: { type: 'system' } });
  const recent = (await get('every-2s')).body.recentRuns.map((r: Loose) => r.batchId);
  expect(recent).toEqual(expect.arrayContaining([batches[0].id, batches[1].id]));

  const list = await stack.call('GET', '/api/v1/schedules', undefined, stack.key);
  expect(list.body).toMatchObject({ hasMore: false, cursor: null });
  expect(list.body.data.map((s: Loose) => s.id)).toContain('every-2s');

  // Paused in the API: no more firings.
  const paused = await stack.call('POST', '/api/v1/schedules/every-2s/pause', { note: 'maintenance' }, stack.key);
  expect(paused.body).toMatchObject({ paused: true, note: 'maintenance' });
  await new Promise((r) => setTimeout(r, 1500));
  const before = (await batchesOf('every-2s')).length;
  await new Promise((r) => setTimeout(r, 4500));
  expect((await batchesOf('every-2s')).length).toBe(before);
});

it('when a schedule is paused with the temporal CLI, then the API shows it paused', async () => {
  expect((await create({ id: 'cli-paused', spec: { cron: '0 3 * * *' }, trigger: { app_id: stack.appId, flow_ids: ['tick'] } })).status).toBe(201);
  await exec(process.env.FLOWRUNS_TEST_TEMPORAL_BINARY!, [
    'schedule', 'toggle', '--schedule-id', `sched-${stack.accountId}-cli-paused`, '--pause', '--reason', 'paused by an operator',
    '--address', stack.config.temporalAddress, '--namespace', stack.config.namespace,
  ]);
  expect((await get('cli-paused')).body).toMatchObject({ paused: true, note: 'paused by an operator' });
});

it('when a schedule is triggered now or backfilled, then the batches those firings start exist and complete', async () => {
  expect((await create({ id: 'nightly', spec: { cron: '* * * * *' }, paused: true, trigger: { app_id: stack.appId, flow_ids: ['tick'] } })).status).toBe(201);
  const fired = await stack.call('POST', '/api/v1/schedules/nightly/trigger', undefined, stack.key);
  expect(fired.status).toBe(202);
  const status = await until('the triggered batch to complete', async () => {
    const s = await stack.call('GET', `/api/v1/runs/status?batch_id=${fired.body.batchId}`, undefined, stack.key);
    return s.status === 200 && s.body.is_complete ? s.body : undefined;
  }, WAIT_MS);
  expect(status).toMatchObject({ status: 'succeeded', schedule_id: 'nightly' });

  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  const backfill = await stack.call('POST', '/api/v1/schedules/nightly/backfill', { start: new Date(minute - 150_000).toISOString(), end: new Date(minute - 30_000).toISOString(), overlap: 'allow_all' }, stack.key);
  expect(backfill.status).toBe(202);
  await until('two backfilled batches', async () => ((await batchesOf('nightly')).length === 3 ? true : undefined), WAIT_MS);
  await new Promise((r) => setTimeout(r, 1500));
  expect(await batchesOf('nightly')).toHaveLength(3);
});

it('when overlap is skip and a firing is still running, then the next firings are skipped', async () => {
  expect((await create({ id: 'no-overlap', spec: { intervalSeconds: 1 }, overlap: 'skip', trigger: { app_id: stack.appId, flow_ids: ['slow'] } })).status).toBe(201);
  await until('the first firing', async () => ((await batchesOf('no-overlap')).length >= 1 ? true : undefined), WAIT_MS);
  await new Promise((r) => setTimeout(r, 3500));
  expect(await batchesOf('no-overlap')).toHaveLength(1);
  await stack.call('DELETE', '/api/v1/schedules/no-overlap', undefined, stack.key);
  expect((await get('no-overlap')).status).toBe(404);
});

it("when another account asks for a schedule, then it is not found, and that account may use the same id; a bad cron is a 400", async () => {
  const other = await stack.newAccount();
  for (const [method, path] of [
    ['GET', '/api/v1/schedules/nightly'],
    ['DELETE', '/api/v1/schedules/nightly'],
    ['POST', '/api/v1/schedules/nightly/pause'],
    ['POST', '/api/v1/schedules/nightly/trigger'],
  ] as const)
    expect([method, path, (await stack.call(method, path, method === 'POST' ? {} : undefined, other.apiKey)).status]).toEqual([method, path, 404]);
  expect((await stack.call('GET', '/api/v1/schedules', undefined, other.apiKey)).body.data).toEqual([]);
  await stack.call('POST', '/api/v1/apps', { name: 'theirs', platform: 'web', baseUrl: stack.stub.url }, other.apiKey);
  await stack.call('POST', '/api/v1/flows', { id: 'tick', name: 'tick', steps: [{ id: 'x', type: 'transform', config: { expression: '1' } }] }, other.apiKey);
  const theirApp = (await stack.call('GET', '/api/v1/apps', undefined, other.apiKey)).body.data[0].id;
  const same = await create({ id: 'nightly', spec: { cron: '0 4 * * *' }, trigger: { app_id: theirApp, flow_ids: ['tick'] } }, other.apiKey);
  expect(same.status).toBe(201);
  await stack.call('DELETE', '/api/v1/schedules/nightly', undefined, other.apiKey);
  expect((await get('nightly')).body.spec).toEqual({ cron: '* * * * *' });

  const bad = await create({ id: 'bad', spec: { cron: 'every tuesday-ish' }, trigger: { app_id: stack.appId, flow_ids: ['tick'] } });
  expect(bad.status).toBe(400);
  expect(bad.body.detail[0].loc.slice(0, 2)).toEqual(['body', 'spec']);
  const unknown = await create({ id: 'lost', spec: { cron: '0 4 * * *' }, trigger: { app_id: stack.appId, flow_ids: ['nope'] } });
  expect(unknown.status).toBe(404);
  expect(unknown.body.detail[0].loc).toEqual(['body', 'trigger', 'flow_ids', 0]);
});

it("when a schedule's trigger carries secrets, then responses show them as *** and a PUT of what was read keeps their values", async () => {
  const env = { API_TOKEN: 'tok-9f8e7d6c', DB: 'hunter22x', REGION: 'eu' };
  const res = await create({ id: 'secretive', spec: { cron: '0 4 * * *' }, paused: true, trigger: { app_id: stack.appId, flow_ids: ['tick'], env, secrets: ['DB'] } });
  expect(res.status).toBe(201);
  const shown = { API_TOKEN: '***', DB: '***', REGION: 'eu' };
  expect(res.body.trigger.env).toEqual(shown);
  expect((await get('secretive')).body.trigger.env).toEqual(shown);
  const listed = (await stack.call('GET', '/api/v1/schedules', undefined, stack.key)).body.data.find((s: Loose) => s.id === 'secretive');
  expect(listed.trigger.env).toEqual(shown);
  for (const value of [env.API_TOKEN, env.DB]) expect(JSON.stringify([res.body, listed])).not.toContain(value);

  const read = (await get('secretive')).body;
  const put = await stack.call('PUT', '/api/v1/schedules/secretive', { spec: read.spec, paused: true, trigger: { ...read.trigger, env: { ...read.trigger.env, REGION: 'us' } } }, stack.key);
  expect(put.status).toBe(200);
  expect(put.body.trigger.env).toEqual({ ...shown, REGION: 'us' });
  // What a firing starts with: the stored values, not ***.
  const fires = await until('the update in Temporal', async () => {
    const { action } = await stack.client.schedule.getHandle(`sched-${stack.accountId}-secretive`).describe();
    const args = (action as Loose).args[0];
    return args.trigger.env.REGION === 'us' ? args.trigger.env : undefined;
  }, WAIT_MS);
  expect(fires).toEqual({ ...env, REGION: 'us' });
  expect((await get('secretive')).body.trigger.env).toEqual({ ...shown, REGION: 'us' });
  const relisted = (await stack.call('GET', '/api/v1/schedules', undefined, stack.key)).body.data.find((s: Loose) => s.id === 'secretive');
  expect(relisted.trigger.env).toEqual({ ...shown, REGION: 'us' });
});
