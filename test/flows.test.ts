import { withStack } from './harness';

const flowBody = (extra: Record<string, unknown> = {}) => ({
  name: 'Daily Sales Report',
  variables: { REGION: 'eu' },
  steps: [
    { id: 'orders', type: 'http', config: { method: 'get', url: '${env:API_URL}/orders' }, retry: { maxAttempts: 3 } },
    { id: 'report', type: 'transform', config: { expression: "{ 'count': $count(steps.orders.output.body) }" } },
    { id: 'pause', type: 'delay', dependsOn: [], config: { durationMs: 10 } },
    {
      id: 'notify',
      type: 'http',
      dependsOn: ['report', 'pause'],
      if: 'steps.report.output.count > 0',
      config: { method: 'POST', url: '${env:SLACK}', body: { text: 'Orders: {{steps.report.output.count}}' } },
    },
  ],
  ...extra,
});

describe('flow definitions', () => {
  const stack = withStack({ account: true });

  test('when a flow is created with an id, then it is returned with defaults, version 1 and timestamps', async () => {
    const res = await stack.call('POST', '/api/v1/flows', flowBody({ id: 'daily-sales-report' }), stack.key);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: 'daily-sales-report',
      name: 'Daily Sales Report',
      type: 'automation',
      variables: { REGION: 'eu' },
      configs: { endOnFail: true },
      version: 1,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(res.body.steps[0].config.method).toBe('GET');

    const got = await stack.call('GET', '/api/v1/flows/daily-sales-report', undefined, stack.key);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
  });

  test('when a flow is created without an id, then a UUID is generated and the name defaults to it', async () => {
    const res = await stack.call('POST', '/api/v1/flows', { steps: [{ id: 'a', type: 'delay', config: { durationMs: 1 } }] }, stack.key);
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(res.body.name).toBe(res.body.id);
  });

  test('when the same id is created twice, then 409 naming body.id', async () => {
    expect((await stack.call('POST', '/api/v1/flows', flowBody({ id: 'twice' }), stack.key)).status).toBe(201);
    const again = await stack.call('POST', '/api/v1/flows', flowBody({ id: 'twice' }), stack.key);
    expect(again.status).toBe(409);
    expect(again.body.detail[0].loc).toEqual(['body', 'id']);
  });

  test('when a flow is PUT, then it gets a new version and older versions stay readable', async () => {
    await stack.call('POST', '/api/v1/flows', flowBody({ id: 'versioned' }), stack.key);
    const v2 = await stack.call('PUT', '/api/v1/flows/versioned', flowBody({ name: 'Renamed' }), stack.key);
    expect(v2.status).toBe(200);
    expect(v2.body).toMatchObject({ id: 'versioned', name: 'Renamed', version: 2 });

    expect((await stack.call('GET', '/api/v1/flows/versioned', undefined, stack.key)).body).toMatchObject({ name: 'Renamed', version: 2 });
    expect((await stack.call('GET', '/api/v1/flows/versioned?version=1', undefined, stack.key)).body).toMatchObject({
      name: 'Daily Sales Report',
      version: 1,
    });
    expect((await stack.call('GET', '/api/v1/flows/versioned?version=9', undefined, stack.key)).status).toBe(404);

    const rows = await stack.dataSource.query(
      'SELECT version FROM flow_versions WHERE account_id = $1 AND flow_id = $2 ORDER BY version',
      [stack.accountId, 'versioned'],
    );
    expect(rows.map((r: { version: number }) => r.version)).toEqual([1, 2]);
  });

  test('when a flow that does not exist is PUT, then it is created with 201', async () => {
    const res = await stack.call('PUT', '/api/v1/flows/put-created', flowBody(), stack.key);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: 'put-created', version: 1 });
  });

  test('when the body id differs from the path id, then 400 naming body.id', async () => {
    const res = await stack.call('PUT', '/api/v1/flows/path-id', flowBody({ id: 'other-id' }), stack.key);
    expect(res.status).toBe(400);
    expect(res.body.detail[0].loc).toEqual(['body', 'id']);
  });

  test('when a flow is deleted, then it is gone from get and list, and re-creating it continues its versions', async () => {
    await stack.call('POST', '/api/v1/flows', flowBody({ id: 'doomed' }), stack.key);
    const del = await stack.call('DELETE', '/api/v1/flows/doomed', undefined, stack.key);
    expect(del.status).toBe(204);
    expect(del.body).toBeUndefined();
    expect((await stack.call('GET', '/api/v1/flows/doomed', undefined, stack.key)).status).toBe(404);
    expect((await stack.call('DELETE', '/api/v1/flows/doomed', undefined, stack.key)).status).toBe(404);
    const list = await stack.call('GET', '/api/v1/flows?limit=100', undefined, stack.key);
    expect(list.body.data.map((f: { id: string }) => f.id)).not.toContain('doomed');

    const again = await stack.call('POST', '/api/v1/flows', flowBody({ id: 'doomed' }), stack.key);
    expect(again.status).toBe(201);
    expect(again.body.version).toBe(2);
  });

  test('when the id is "run", then 400 because it is reserved', async () => {
    const post = await stack.call('POST', '/api/v1/flows', flowBody({ id: 'run' }), stack.key);
    expect(post.status).toBe(400);
    expect(post.body.detail[0].loc).toEqual(['body', 'id']);
    const put = await stack.call('PUT', '/api/v1/flows/run', flowBody(), stack.key);
    expect(put.status).toBe(400);
    expect(put.body.detail[0].loc).toEqual(['path', 'flowId']);
  });

  test('when flows are listed in pages, then every flow appears exactly once, newest first', async () => {
    const { apiKey } = await stack.newAccount();
    const ids = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const id of ids) expect((await stack.call('POST', '/api/v1/flows', flowBody({ id }), apiKey)).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const qs: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
      const page = await stack.call('GET', `/api/v1/flows${qs}`, undefined, apiKey);
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((f: { id: string }) => f.id));
      expect(page.body.hasMore).toBe(page.body.cursor !== null);
      cursor = page.body.cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  test('when the limit or cursor is invalid, then 400 naming the query field', async () => {
    const limit = await stack.call('GET', '/api/v1/flows?limit=500', undefined, stack.key);
    expect(limit.status).toBe(400);
    expect(limit.body.detail[0].loc).toEqual(['query', 'limit']);
    const cursor = await stack.call('GET', '/api/v1/flows?cursor=garbage', undefined, stack.key);
    expect(cursor.status).toBe(400);
    expect(cursor.body.detail[0].loc).toEqual(['query', 'cursor']);
  });
});
