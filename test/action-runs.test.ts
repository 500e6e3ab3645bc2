/**
 * Seed 002 flow-runs at /api/v1/flow-runs, over the real gateway, worker, Temporal and Postgres:
 * the seed's own example requests, starting flows with args, paging both ways under inserts,
 * runs reported by an outside executor, retagging and deleting runs the platform executes.
 */
import { ApiKeyEntity, RunEntity, RunLogEntity } from '../db/entities';
import { eventually, startStack, type Loose, type Stack } from './harness';
import { startStub, type Stub } from './stub-server';

let stack: Stack;
let stub: Stub;
beforeAll(async () => {
  stack = await startStack({ worker: true });
  stub = await startStub();
});
afterAll(async () => {
  await stub?.close();
  await stack?.stop();
});

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function account(): Promise<{ accountId: string; key: string; keyId: string }> {
  const { accountId, apiKey } = await stack.newAccount();
  const row = await stack.dataSource.getRepository(ApiKeyEntity).findOneByOrFail({ accountId });
  return { accountId, key: apiKey, keyId: row.id };
}

async function createFlow(key: string, id: string, steps: unknown[], type = 'automation'): Promise<void> {
  const res = await stack.call('POST', '/api/v1/flows', { id, name: `Flow ${id}`, type, steps }, key);
  if (res.status !== 201) throw new Error(`create flow: ${res.status} ${JSON.stringify(res.body)}`);
}

const transformFlow = (key: string, id: string) =>
  createFlow(key, id, [{ id: 'echo', type: 'transform', config: { expression: '{ "x": trigger.body.x }' } }]);
const slowFlow = (key: string, id: string) => createFlow(key, id, [{ id: 'wait', name: 'Wait', type: 'delay', config: { durationMs: 120_000 } }]);


const getRun = (key: string, id: string) => stack.call('GET', `/api/v1/flow-runs/${id}`, undefined, key);
const untilPhase = (key: string, id: string, phases: string[]) =>
  eventually(() => getRun(key, id), (r) => r.status === 200 && phases.includes(r.body.phase));

/** Every field of the seed's flow-run object, typed as the seed shows it (createdBy etc. are the key ids here). */
function expectSeedShape(run: Loose): void {
  expect(Object.keys(run).sort()).toEqual(
    [
      'id', 'flowId', 'flowType', 'args', 'phase', 'startTime', 'endTime', 'actions', 'outputs', 'logs', 'tags',
      'createdAt', 'createdBy', 'updatedAt', 'updatedBy', 'reviewedBy', 'reviewedAt',
    ].sort(),
  );
  expect(run.id).toMatch(/^[a-z0-9_.-]+$/);
  expect(run.flowId).toMatch(/^[a-z0-9_.-]+$/);
  expect(['automation', 'selfServiceAction', 'scorecard', 'reference']).toContain(run.flowType);
  expect(['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'timed_out']).toContain(run.phase);
  for (const t of [run.startTime, run.endTime, run.reviewedAt]) if (t !== null) expect(t).toMatch(ISO);
  expect(run.createdAt).toMatch(ISO);
  expect(run.updatedAt).toMatch(ISO);
  expect(Array.isArray(run.actions)).toBe(true);
  for (const a of run.actions) {
    expect(a).toEqual(expect.objectContaining({ id: expect.any(String), phase: expect.any(String) }));
    expect('startTime' in a && 'endTime' in a).toBe(true);
  }
  for (const l of run.logs) expect(Object.keys(l).sort()).toEqual(['action', 'level', 'message', 'timestamp']);
  for (const t of run.tags) expect(Object.keys(t).sort()).toEqual(['key', 'value']);
}

describe('the seed\'s own example requests', () => {
  test('when the seed\'s fetch calls are sent (host replaced, key added), then each answers the seed\'s shape', async () => {
    const { key, keyId } = await account();
    await transformFlow(key, 'text');
    const headers = { 'X-API-Key': key };

    const created = await fetch(`${stack.baseUrl}/api/v1/flow-runs`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ flowId: 'text' }),
    });
    expect(created.status).toBe(200);
    const run = (await created.json()) as Loose;
    expectSeedShape(run);
    expect(run).toMatchObject({ flowId: 'text', flowType: 'automation', args: null, tags: [], createdBy: keyId, updatedBy: keyId, reviewedBy: null });

    const list = await fetch(`${stack.baseUrl}/api/v1/flow-runs`, { method: 'GET', headers });
    expect(list.status).toBe(200);
    const page = (await list.json()) as Loose;
    expect(Object.keys(page).sort()).toEqual(['current_page', 'current_page_backwards', 'items', 'next_page', 'previous_page', 'total']);
    expect(page.total).toBe(1);
    expect(page.items.map((i: Loose) => i.id)).toEqual([run.id]);
    expectSeedShape(page.items[0]);
    expect(typeof page.current_page).toBe('string');
    expect(typeof page.current_page_backwards).toBe('string');
    expect(page.previous_page).toBeNull();
    expect(page.next_page).toBeNull();

    const one = await fetch(`${stack.baseUrl}/api/v1/flow-runs/${run.id}`, { method: 'GET', headers });
    expect(one.status).toBe(200);
    expectSeedShape(await one.json());

    const put = await fetch(`${stack.baseUrl}/api/v1/flow-runs/reported-1`, {
      method: 'PUT',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ flowId: 'text', flowType: 'automation' }),
    });
    expect(put.status).toBe(200);
    const reported = (await put.json()) as Loose;
    expectSeedShape(reported);
    expect(reported).toMatchObject({ id: 'reported-1', flowId: 'text', phase: 'queued', actions: [], logs: [], createdBy: keyId });

    const del = await fetch(`${stack.baseUrl}/api/v1/flow-runs/reported-1`, { method: 'DELETE', headers });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({});
    expect((await getRun(key, 'reported-1')).status).toBe(404);
  });
});

describe('POST /api/v1/flow-runs', () => {
  test('when a flow is started with args, then its steps read them as trigger.body and the run succeeds', async () => {
    const { key } = await account();
    await createFlow(key, 'greet', [
      { id: 'echo', type: 'transform', config: { expression: '{ "x": trigger.body.x }' } },
      { id: 'call', type: 'http', config: { method: 'POST', url: `${stub.url}/hook`, body: { x: '{{trigger.body.x}}' } } },
    ]);

    const res = await stack.call('POST', '/api/v1/flow-runs', { id: 'greet-1', flowId: 'greet', args: { x: 42 }, tags: [{ key: 'team', value: 'ops' }] }, key);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: 'greet-1', flowId: 'greet', args: { x: 42 }, tags: [{ key: 'team', value: 'ops' }] });
    const done = await untilPhase(key, 'greet-1', ['succeeded', 'failed']);
    expect(done.body.phase).toBe('succeeded');
    expect(done.body.actions.map((a: Loose) => [a.id, a.phase])).toEqual([
      ['echo', 'succeeded'],
      ['call', 'succeeded'],
    ]);
    expect(done.body.actions[0].output).toEqual({ x: 42 });
    expect(stub.requests.find((r) => r.url === '/hook')?.body).toEqual({ x: 42 });
    expect(done.body.startTime).toMatch(ISO);
    expect(done.body.endTime).toMatch(ISO);
    expect(done.body.logs.length).toBeGreaterThan(0);
    const row = await stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: 'greet-1' });
    expect(row.external).toBe(false);
    expect(row.batchId).not.toBeNull();
  });

  test('when the same Idempotency-Key is sent twice, then one run is started; with another body, 422', async () => {
    const { key } = await account();
    await transformFlow(key, 'idem');
    const headers = { 'Idempotency-Key': 'k-1' };

    const first = await stack.call('POST', '/api/v1/flow-runs', { flowId: 'idem', args: { x: 1 } }, key, headers);
    const again = await stack.call('POST', '/api/v1/flow-runs', { flowId: 'idem', args: { x: 1 } }, key, headers);
    const other = await stack.call('POST', '/api/v1/flow-runs', { flowId: 'idem', args: { x: 2 } }, key, headers);

    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect((await stack.call('GET', '/api/v1/flow-runs', undefined, key)).body.total).toBe(1);
    expect(other.status).toBe(422);
    expect(other.body.detail[0].loc).toEqual(['header', 'Idempotency-Key']);
  });

  test('when the flow is unknown, then 404 names body.flowId; when the run id exists, then 409', async () => {
    const { key } = await account();
    await transformFlow(key, 'known');

    const unknown = await stack.call('POST', '/api/v1/flow-runs', { flowId: 'nope' }, key);
    const first = await stack.call('POST', '/api/v1/flow-runs', { id: 'dup-1', flowId: 'known' }, key);
    const taken = await stack.call('POST', '/api/v1/flow-runs', { id: 'dup-1', flowId: 'known' }, key);

    expect(unknown.status).toBe(404);
    expect(unknown.body.detail[0].loc).toEqual(['body', 'flowId']);
    expect(first.status).toBe(200);
    expect(taken.status).toBe(409);
    expect(taken.body.detail[0].loc).toEqual(['body', 'id']);
  });
});

describe('GET /api/v1/flow-runs paging', () => {
  const ids = (page: Loose): string[] => page.items.map((i: Loose) => i.id);
  const put = (key: string, id: string) => stack.call('PUT', `/api/v1/flow-runs/${id}`, { flowId: 'paged', flowType: 'automation', phase: 'succeeded' }, key);

  test('when runs are inserted between fetches, then next and previous pages stay exact and total counts them', async () => {
    const { key } = await account();
    for (let i = 0; i < 7; i++) expect((await put(key, `p-0${i}`)).status).toBe(200);
    const list = (cursor?: string) =>
      stack.call('GET', `/api/v1/flow-runs?size=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, key);

    const page1 = await list();
    expect(page1.status).toBe(200);
    expect(ids(page1.body)).toEqual(['p-06', 'p-05', 'p-04']);
    expect(page1.body.total).toBe(7);
    expect(page1.body.previous_page).toBeNull();

    expect((await put(key, 'p-07')).status).toBe(200);
    const page2 = await list(page1.body.next_page);
    expect(ids(page2.body)).toEqual(['p-03', 'p-02', 'p-01']);
    expect(page2.body.total).toBe(8);

    const page3 = await list(page2.body.next_page);
    expect(ids(page3.body)).toEqual(['p-00']);
    expect(page3.body.next_page).toBeNull();

    const back2 = await list(page3.body.previous_page);
    expect(ids(back2.body)).toEqual(['p-03', 'p-02', 'p-01']);
    const back1 = await list(back2.body.previous_page);
    expect(ids(back1.body)).toEqual(['p-06', 'p-05', 'p-04']);
    expect(back1.body.next_page).not.toBeNull();
    const newest = await list(back1.body.previous_page);
    expect(ids(newest.body)).toEqual(['p-07']);
    expect(newest.body.previous_page).toBeNull();
    expect(ids((await list(newest.body.next_page)).body)).toEqual(['p-06', 'p-05', 'p-04']);

    expect(ids((await list(page2.body.current_page)).body)).toEqual(['p-03', 'p-02', 'p-01']);
    expect(ids((await list(page3.body.current_page_backwards)).body)).toEqual(['p-02', 'p-01', 'p-00']);
  });

  test('when the account has no runs, then an empty page with no previous or next page and a refetchable current page', async () => {
    const { key } = await account();

    const empty = await stack.call('GET', '/api/v1/flow-runs', undefined, key);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({
      items: [],
      total: 0,
      current_page: expect.any(String),
      current_page_backwards: expect.any(String),
      previous_page: null,
      next_page: null,
    });
    await put(key, 'late-1');
    const refetched = await stack.call('GET', `/api/v1/flow-runs?cursor=${empty.body.current_page}`, undefined, key);
    expect(ids(refetched.body)).toEqual(['late-1']);
    const fromOldest = await stack.call('GET', `/api/v1/flow-runs?cursor=${empty.body.current_page_backwards}`, undefined, key);
    expect(ids(fromOldest.body)).toEqual(['late-1']);
  });

  test('when limit, flowId or phase are given, then they size and filter the page; a bad size or cursor is 422', async () => {
    const { key } = await account();
    for (let i = 0; i < 3; i++) await put(key, `q-${i}`);
    await stack.call('PUT', '/api/v1/flow-runs/other-1', { flowId: 'other', flowType: 'scorecard', phase: 'failed' }, key);

    const limited = await stack.call('GET', '/api/v1/flow-runs?limit=2', undefined, key);
    const byFlow = await stack.call('GET', '/api/v1/flow-runs?flowId=other', undefined, key);
    const byPhase = await stack.call('GET', '/api/v1/flow-runs?phase=succeeded', undefined, key);
    const tooBig = await stack.call('GET', '/api/v1/flow-runs?size=101', undefined, key);
    const badCursor = await stack.call('GET', '/api/v1/flow-runs?cursor=not-a-cursor', undefined, key);

    expect(ids(limited.body)).toEqual(['other-1', 'q-2']);
    expect(limited.body.total).toBe(4);
    expect(ids(byFlow.body)).toEqual(['other-1']);
    expect(byFlow.body.total).toBe(1);
    expect(ids(byPhase.body)).toEqual(['q-2', 'q-1', 'q-0']);
    expect(tooBig.status).toBe(422);
    expect(tooBig.body.detail[0].loc).toEqual(['query', 'size']);
    expect(badCursor.status).toBe(422);
    expect(badCursor.body.detail[0].loc).toEqual(['query', 'cursor']);
  });
});

describe('PUT /api/v1/flow-runs/{id} by an outside executor', () => {
  const report = {
    flowId: 'nightly-etl',
    flowType: 'automation',
    args: { day: '2026-04-20' },
    phase: 'succeeded',
    startTime: '2026-04-21T09:00:00.000Z',
    endTime: '2026-04-21T09:00:05.000Z',
    actions: [
      { id: 'extract', phase: 'succeeded', startTime: '2026-04-21T09:00:00.000Z', endTime: '2026-04-21T09:00:02.000Z', name: 'Extract', output: { rows: 10 } },
      { id: 'load', phase: 'succeeded', startTime: '2026-04-21T09:00:02.000Z', endTime: '2026-04-21T09:00:05.000Z' },
    ],
    outputs: { loaded: 10 },
    logs: [
      { timestamp: '2026-04-21T09:00:01.000Z', message: 'extracting', level: 'info', action: 'extract' },
      { timestamp: '2026-04-21T09:00:04.000Z', message: 'slow load', level: 'warning', action: 'load' },
    ],
    tags: [{ key: 'env', value: 'prod' }],
  };

  test('when a finished run is reported, then the flow-run, the list, seed 000 and seed 004 all show it', async () => {
    const { key, keyId } = await account();
    await createFlow(key, 'nightly-etl', [{ id: 'noop', type: 'transform', config: { expression: '1' } }]);

    const res = await stack.call('PUT', '/api/v1/flow-runs/etl-2026-04-20', { id: 'etl-2026-04-20', ...report }, key);

    expect(res.status).toBe(200);
    expectSeedShape(res.body);
    expect(res.body).toMatchObject({
      id: 'etl-2026-04-20',
      flowId: 'nightly-etl',
      flowType: 'automation',
      args: { day: '2026-04-20' },
      phase: 'succeeded',
      startTime: report.startTime,
      endTime: report.endTime,
      outputs: { loaded: 10 },
      tags: [{ key: 'env', value: 'prod' }],
      createdBy: keyId,
      updatedBy: keyId,
      reviewedBy: null,
      reviewedAt: null,
    });
    expect(res.body.actions).toEqual([
      { id: 'extract', phase: 'succeeded', startTime: '2026-04-21T09:00:00.000Z', endTime: '2026-04-21T09:00:02.000Z', name: 'Extract', type: 'external', output: { rows: 10 }, error: null },
      { id: 'load', phase: 'succeeded', startTime: '2026-04-21T09:00:02.000Z', endTime: '2026-04-21T09:00:05.000Z', name: 'load', type: 'external', output: null, error: null },
    ]);
    expect(res.body.logs).toEqual([
      { timestamp: '2026-04-21T09:00:01.000Z', message: 'extracting', level: 'info', action: 'extract' },
      { timestamp: '2026-04-21T09:00:04.000Z', message: 'slow load', level: 'warn', action: 'load' },
    ]);
    const row = await stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: 'etl-2026-04-20' });
    expect(row).toMatchObject({ external: true, batchId: null, status: 'succeeded', durationMs: 5000 });

    expect((await getRun(key, 'etl-2026-04-20')).body).toEqual(res.body);
    const list = await stack.call('GET', '/api/v1/flow-runs', undefined, key);
    expect(list.body.items).toEqual([res.body]);

    const seed000 = await stack.call('GET', '/api/v1/runs/etl-2026-04-20', undefined, key);
    expect(seed000.status).toBe(200);
    expect(seed000.body).toMatchObject({ id: 'etl-2026-04-20', batch_id: null, flow_id: 'nightly-etl', status: 'succeeded', duration_ms: 5000 });
    expect(seed000.body.actions.map((a: Loose) => [a.step_id, a.status])).toEqual([
      ['extract', 'succeeded'],
      ['load', 'succeeded'],
    ]);

    const seed004 = await stack.call('GET', '/api/v1/flows/nightly-etl/runs', undefined, key);
    expect(seed004.status).toBe(200);
    expect(seed004.body.data).toEqual([expect.objectContaining({ id: 'etl-2026-04-20', status: 'SUCCEEDED', duration: 5000, stepsCount: 2, stepsSucceeded: 2 })]);
  });

  test('when the same report is sent again, then nothing is duplicated; a shorter report replaces actions and logs', async () => {
    const { key } = await account();
    await stack.call('PUT', '/api/v1/flow-runs/again-1', { ...report, phase: 'running' }, key);
    const again = await stack.call('PUT', '/api/v1/flow-runs/again-1', report, key);

    expect(again.status).toBe(200);
    expect(again.body.phase).toBe('succeeded');
    expect(again.body.logs).toHaveLength(2);
    const { id: internalId } = await stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: 'again-1' });
    expect(await stack.dataSource.getRepository(RunLogEntity).countBy({ runId: internalId })).toBe(2);

    const shorter = await stack.call(
      'PUT',
      '/api/v1/flow-runs/again-1',
      { ...report, phase: 'failed', actions: [{ id: 'extract', phase: 'failed', error: 'source down' }], logs: [report.logs[0]] },
      key,
    );
    expect(shorter.body.actions.map((a: Loose) => [a.id, a.phase, a.error])).toEqual([['extract', 'failed', 'source down']]);
    expect(shorter.body.logs).toHaveLength(1);
    const seed000 = await stack.call('GET', '/api/v1/runs/again-1', undefined, key);
    expect(seed000.body.error).toEqual({ step: 'extract', message: 'source down' });
  });

  test('when the body id differs from the path, then 422; when another account uses the same id, then that is its own run', async () => {
    const { key } = await account();
    const { key: otherKey } = await account();
    await stack.call('PUT', '/api/v1/flow-runs/mine-1', report, key);

    const mismatch = await stack.call('PUT', '/api/v1/flow-runs/mine-2', { ...report, id: 'mine-3' }, key);
    const foreign = await stack.call('PUT', '/api/v1/flow-runs/mine-1', report, otherKey);

    expect(mismatch.status).toBe(422);
    expect(mismatch.body.detail[0].loc).toEqual(['body', 'id']);
    expect(foreign.status).toBe(200);
    expect((await getRun(key, 'mine-1')).body.tags).toEqual(report.tags);
    expect(await stack.dataSource.getRepository(RunEntity).countBy({ publicId: 'mine-1' })).toBe(2);
  });
});

describe('a run the platform executes', () => {
  test('when it runs, then GET shows its live action; PUT changes its tags, refuses another phase; DELETE cancels and removes it', async () => {
    const { key } = await account();
    await slowFlow(key, 'slow');
    const created = await stack.call('POST', '/api/v1/flow-runs', { id: 'slow-1', flowId: 'slow', tags: [{ key: 'a', value: '1' }] }, key);
    expect(created.status).toBe(200);

    const running = await eventually(
      () => getRun(key, 'slow-1'),
      (r) => r.body.actions?.[0]?.phase === 'running',
    );
    expect(running.body.phase).toBe('running');
    expect(running.body.actions[0]).toMatchObject({ id: 'wait', name: 'Wait', type: 'delay', phase: 'running' });

    const retag = await stack.call('PUT', '/api/v1/flow-runs/slow-1', { ...running.body, tags: [{ key: 'b', value: '2' }] }, key);
    expect(retag.status).toBe(200);
    expect(retag.body.tags).toEqual([{ key: 'b', value: '2' }]);
    expect(retag.body.phase).toBe('running');

    const phase = await stack.call('PUT', '/api/v1/flow-runs/slow-1', { flowId: 'slow', flowType: 'automation', phase: 'succeeded' }, key);
    expect(phase.status).toBe(409);
    expect(phase.body.detail[0].loc).toEqual(['body', 'phase']);
    const flow = await stack.call('PUT', '/api/v1/flow-runs/slow-1', { flowId: 'other', flowType: 'automation' }, key);
    expect(flow.status).toBe(409);

    const row = await stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: 'slow-1' });
    const del = await stack.call('DELETE', '/api/v1/flow-runs/slow-1', undefined, key);
    expect(del.status).toBe(200);
    expect(del.body).toEqual({});
    const batch = await stack.client.workflow.getHandle(`batch-${row.batchId}`).describe();
    expect(['CANCELLED', 'TERMINATED']).toContain(batch.status.name);
    expect((await getRun(key, 'slow-1')).status).toBe(404);
    expect((await stack.call('GET', '/api/v1/runs/slow-1', undefined, key)).status).toBe(404);
    expect(await stack.dataSource.query('SELECT 1 FROM batches WHERE id = $1', [row.batchId])).toEqual([]);
  });

  test('when it is cancelled in Temporal, then GET shows it cancelled', async () => {
    const { key } = await account();
    await slowFlow(key, 'slow');
    await stack.call('POST', '/api/v1/flow-runs', { id: 'slow-2', flowId: 'slow' }, key);
    await untilPhase(key, 'slow-2', ['running']);

    const { workflowId } = await stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: 'slow-2' });
    await stack.client.workflow.getHandle(workflowId!).cancel();

    const after = await untilPhase(key, 'slow-2', ['cancelled']);
    expect(after.body.phase).toBe('cancelled');
    expect(after.body.actions[0].phase).toBe('cancelled');
  });
});

describe('what a client gets wrong', () => {
  let key: string;
  beforeAll(async () => {
    ({ key } = await account());
    await stack.call('PUT', '/api/v1/flow-runs/exists-1', { flowId: 'f', flowType: 'automation' }, key);
  });

  test.each([
    ['a path id off the pattern', 'PUT', '/api/v1/flow-runs/Bad%20Id', { flowId: 'f', flowType: 'automation' }, ['path', 'id']],
    ['a body id off the pattern', 'POST', '/api/v1/flow-runs', { id: 'UPPER', flowId: 'f' }, ['body', 'id']],
    ['a flowId off the pattern', 'POST', '/api/v1/flow-runs', { flowId: 'no spaces' }, ['body', 'flowId']],
    ['no flowId on create', 'POST', '/api/v1/flow-runs', { args: {} }, ['body', 'flowId']],
    ['no flowId on upsert', 'PUT', '/api/v1/flow-runs/x-1', { flowType: 'automation' }, ['body', 'flowId']],
    ['no flowType on upsert', 'PUT', '/api/v1/flow-runs/x-1', { flowId: 'f' }, ['body', 'flowType']],
    ['an unknown flowType', 'POST', '/api/v1/flow-runs', { flowId: 'f', flowType: 'cron' }, ['body', 'flowType']],
    ['an unknown phase', 'PUT', '/api/v1/flow-runs/x-1', { flowId: 'f', flowType: 'automation', phase: 'done' }, ['body', 'phase']],
    ['a duplicate action id', 'PUT', '/api/v1/flow-runs/x-1', { flowId: 'f', flowType: 'automation', actions: [{ id: 'a', phase: 'succeeded' }, { id: 'a', phase: 'failed' }] }, ['body', 'actions', 1, 'id']],
    ['a bad path id on delete', 'DELETE', '/api/v1/flow-runs/Nope!', undefined, ['path', 'id']],
  ])('when %s is sent, then 422 locates it', async (_name, method, path, body, loc) => {
    const res = await stack.call(method, path, body, key);
    expect(res.status).toBe(422);
    expect(res.body.error).toEqual(expect.any(String));
    expect(res.body.detail).toContainEqual(expect.objectContaining({ loc, msg: expect.any(String), type: expect.any(String) }));
  });

  test('when an id is unknown or another account\'s, then 404 on GET and DELETE', async () => {
    const { key: otherKey } = await account();
    for (const [method, path, k] of [
      ['GET', '/api/v1/flow-runs/missing-1', key],
      ['DELETE', '/api/v1/flow-runs/missing-1', key],
      ['GET', '/api/v1/flow-runs/exists-1', otherKey],
      ['DELETE', '/api/v1/flow-runs/exists-1', otherKey],
    ] as const) {
      const res = await stack.call(method, path, undefined, k);
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    expect((await getRun(key, 'exists-1')).status).toBe(200);
  });

  test('when no key is sent, then 401; when a wrong method is used, then 405 with Allow', async () => {
    expect((await stack.call('GET', '/api/v1/flow-runs', undefined, null)).status).toBe(401);
    expect((await stack.call('POST', '/api/v1/flow-runs', { flowId: 'f' }, null)).status).toBe(401);
    expect((await stack.call('GET', '/api/v1/flow-runs/exists-1', undefined, null)).status).toBe(401);
    const patch = await stack.call('PATCH', '/api/v1/flow-runs/exists-1', {}, key);
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toContain('PUT');
    expect((await stack.call('DELETE', '/api/v1/flow-runs', undefined, key)).status).toBe(405);
  });
});
