import { withStack } from './harness';

const SIMPLE_FLOW = { steps: [{ id: 'wait', type: 'delay', config: { durationMs: 1 } }] };

describe('authentication and tenancy', () => {
  const stack = withStack();

  const get = (path: string, headers: Record<string, string>) =>
    fetch(`${stack.baseUrl}${path}`, { headers }).then(async (r) => ({ status: r.status, body: await r.json() }));

  test.each([
    ['X-API-Key: K', (k: string) => ({ 'X-API-Key': k })],
    ['Authorization: Bearer K', (k: string) => ({ Authorization: `Bearer ${k}` })],
    ['Authorization: K', (k: string) => ({ Authorization: k })],
    ['AccessKey: K', (k: string) => ({ AccessKey: k })],
  ])('when an account key is sent as %s, then the request is authenticated', async (_form, header) => {
    const { apiKey } = await stack.newAccount();
    const res = await get('/api/v1/flows', header(apiKey));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], cursor: null, hasMore: false });
  });

  test('when no key is sent, then 401 in the error shape', async () => {
    const res = await stack.call('GET', '/api/v1/flows', undefined, null);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: expect.any(String), detail: [] });
  });

  test('when an unknown key is sent, then 401', async () => {
    const res = await stack.call('GET', '/api/v1/flows', undefined, 'fr_not-a-real-key');
    expect(res.status).toBe(401);
  });

  test('when an account key calls an admin-only route, then 403', async () => {
    const { apiKey } = await stack.newAccount();
    expect((await stack.call('POST', '/api/v1/accounts', { name: 'x' }, apiKey)).status).toBe(403);
    expect((await stack.call('GET', '/api/v1/accounts', undefined, apiKey)).status).toBe(403);
  });

  test('when the admin creates an account, then its key works once shown and is listed without the secret', async () => {
    const created = await stack.call('POST', '/api/v1/accounts', { name: 'Acme' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), name: 'Acme', apiKey: expect.stringMatching(/^fr_[A-Za-z0-9_-]{43}$/), createdAt: expect.any(String) });

    const keys = await stack.call('GET', '/api/v1/api-keys', undefined, created.body.apiKey);
    expect(keys.status).toBe(200);
    expect(keys.body.data).toHaveLength(1);
    expect(keys.body.data[0]).toMatchObject({ accountId: created.body.id, prefix: created.body.apiKey.slice(0, 10), revokedAt: null });
    expect(JSON.stringify(keys.body)).not.toContain(created.body.apiKey);

    const accounts = await stack.call('GET', '/api/v1/accounts?limit=100');
    expect(accounts.status).toBe(200);
    expect(accounts.body.data.map((a: { id: string }) => a.id)).toContain(created.body.id);
  });

  test('when a key is revoked, then it gets 401 while the account’s other keys still work', async () => {
    const { apiKey, accountId } = await stack.newAccount();
    const second = await stack.call('POST', '/api/v1/api-keys', { name: 'ci' }, apiKey);
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ name: 'ci', accountId, apiKey: expect.stringMatching(/^fr_/), prefix: expect.any(String) });

    const revoked = await stack.call('DELETE', `/api/v1/api-keys/${second.body.id}`, undefined, apiKey);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ id: second.body.id, revokedAt: expect.any(String) });

    expect((await stack.call('GET', '/api/v1/flows', undefined, second.body.apiKey)).status).toBe(401);
    expect((await stack.call('GET', '/api/v1/flows', undefined, apiKey)).status).toBe(200);
  });

  test('when an account key names another account for a new key, then 403; the admin may', async () => {
    const a = await stack.newAccount();
    const b = await stack.newAccount();
    expect((await stack.call('POST', '/api/v1/api-keys', { name: 'x', accountId: b.accountId }, a.apiKey)).status).toBe(403);
    const byAdmin = await stack.call('POST', '/api/v1/api-keys', { name: 'x', accountId: b.accountId });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.accountId).toBe(b.accountId);
    expect((await stack.call('POST', '/api/v1/api-keys', { name: 'x', accountId: 'no-such-account' })).status).toBe(404);
  });

  test('when account B asks for account A’s flow, app or key, then 404, and B’s lists exclude A’s', async () => {
    const a = await stack.newAccount();
    const b = await stack.newAccount();
    const flow = await stack.call('POST', '/api/v1/flows', { ...SIMPLE_FLOW, id: 'tenant-flow' }, a.apiKey);
    expect(flow.status).toBe(201);
    const app = await stack.call('POST', '/api/v1/apps', { name: 'web', platform: 'web' }, a.apiKey);
    expect(app.status).toBe(201);
    const keyOfA = await stack.call('POST', '/api/v1/api-keys', { name: 'a2' }, a.apiKey);

    expect((await stack.call('GET', '/api/v1/flows/tenant-flow', undefined, b.apiKey)).status).toBe(404);
    expect((await stack.call('PUT', '/api/v1/flows/tenant-flow', SIMPLE_FLOW, b.apiKey)).status).toBe(201);
    expect((await stack.call('GET', '/api/v1/flows/tenant-flow', undefined, a.apiKey)).body.version).toBe(1);
    expect((await stack.call('DELETE', '/api/v1/flows/tenant-flow', undefined, b.apiKey)).status).toBe(204);
    expect((await stack.call('GET', '/api/v1/flows/tenant-flow', undefined, a.apiKey)).status).toBe(200);
    expect((await stack.call('GET', `/api/v1/apps/${app.body.id}`, undefined, b.apiKey)).status).toBe(404);
    expect((await stack.call('DELETE', `/api/v1/api-keys/${keyOfA.body.id}`, undefined, b.apiKey)).status).toBe(404);

    const flowsOfB = await stack.call('GET', '/api/v1/flows', undefined, b.apiKey);
    expect(flowsOfB.body.data).toEqual([]);
    const appsOfB = await stack.call('GET', '/api/v1/apps', undefined, b.apiKey);
    expect(appsOfB.body.data).toEqual([]);
    const keysOfB = await stack.call('GET', '/api/v1/api-keys', undefined, b.apiKey);
    expect(keysOfB.body.data.every((k: { accountId: string }) => k.accountId === b.accountId)).toBe(true);
  });

  test('when the admin key is used, then it acts as the default account', async () => {
    const res = await stack.call('POST', '/api/v1/api-keys', { name: 'admin-made' });
    expect(res.status).toBe(201);
    expect(res.body.accountId).toBe('default');
  });
});
