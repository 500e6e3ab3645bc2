/**
 * Flow-runs at /api/v1/flow-runs over the real gateway, worker, Temporal and Postgres: the
 * contract's own example requests, starting flows with args, paging both ways under inserts.
 * Runs reported by an outside executor, retagging and deleting, and a client's mistakes are
 * test/action-runs-executor.test.ts.
 */
import { RunEntity } from '../db/entities';
import { withStack, type Loose } from './harness';
import { ISO, expectSeedShape, actionRunClient } from './action-runs-client';

const stack = withStack({ workers: true, stub: true });
const { account, createFlow, transformFlow, getRun, untilPhase } = actionRunClient(stack);

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
      { id: 'call', type: 'http', config: { method: 'POST', url: `${stack.stub.url}/hook`, body: { x: '{{trigger.body.x}}' } } },
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
    expect(stack.stub.requests.find((r) => r.url === '/hook')?.body).toEqual({ x: 42 });
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
