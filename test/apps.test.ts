import { withStack } from './harness';

describe('apps and builds', () => {
  const stack = withStack({ account: true });

  test('when a web app is created, then it is returned with its fields and no active build', async () => {
    const res = await stack.call(
      'POST',
      '/api/v1/apps',
      { name: 'Shop', platform: 'web', baseUrl: 'https://shop.example.com', variables: { LOCALE: 'en' } },
      stack.key,
    );
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Shop',
      platform: 'web',
      bundleId: null,
      baseUrl: 'https://shop.example.com',
      variables: { LOCALE: 'en' },
      secrets: [],
      activeBuildId: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect((await stack.call('GET', `/api/v1/apps/${res.body.id}`, undefined, stack.key)).body).toEqual(res.body);
    const list = await stack.call('GET', '/api/v1/apps', undefined, stack.key);
    expect(list.body.data.map((a: { id: string }) => a.id)).toContain(res.body.id);
  });

  test('when a mobile app has no bundleId, then 400 naming body.bundleId', async () => {
    const res = await stack.call('POST', '/api/v1/apps', { name: 'iOS', platform: 'ios' }, stack.key);
    expect(res.status).toBe(400);
    expect(res.body.detail[0].loc).toEqual(['body', 'bundleId']);
  });

  test('when the platform or baseUrl is invalid, then 400 naming the field', async () => {
    const platform = await stack.call('POST', '/api/v1/apps', { name: 'x', platform: 'windows' }, stack.key);
    expect(platform.status).toBe(400);
    expect(platform.body.detail[0]).toMatchObject({ loc: ['body', 'platform'], type: 'invalid_value' });
    const url = await stack.call('POST', '/api/v1/apps', { name: 'x', platform: 'web', baseUrl: 'not a url' }, stack.key);
    expect(url.status).toBe(400);
    expect(url.body.detail[0].loc).toEqual(['body', 'baseUrl']);
  });

  test('when two apps share platform and bundleId in one account, then 409; another account may reuse it', async () => {
    const body = { name: 'Android', platform: 'android', bundleId: 'com.example.shop' };
    expect((await stack.call('POST', '/api/v1/apps', body, stack.key)).status).toBe(201);
    const dup = await stack.call('POST', '/api/v1/apps', body, stack.key);
    expect(dup.status).toBe(409);
    expect(dup.body.detail[0].loc).toEqual(['body', 'bundleId']);
    const other = await stack.newAccount();
    expect((await stack.call('POST', '/api/v1/apps', body, other.apiKey)).status).toBe(201);
  });

  test('when builds are added and one is activated, then exactly that build is active', async () => {
    const app = await stack.call('POST', '/api/v1/apps', { name: 'iOS', platform: 'ios', bundleId: `com.example.${Date.now()}` }, stack.key);
    const b1 = await stack.call('POST', `/api/v1/apps/${app.body.id}/builds`, { version: '1.0.0', variables: { API: 'v1' } }, stack.key);
    expect(b1.status).toBe(201);
    expect(b1.body).toEqual({
      id: expect.any(String),
      appId: app.body.id,
      version: '1.0.0',
      variables: { API: 'v1' },
      secrets: [],
      active: true,
      createdAt: expect.any(String),
    });
    const b2 = await stack.call('POST', `/api/v1/apps/${app.body.id}/builds`, { version: '1.1.0', activate: false }, stack.key);
    expect(b2.body.active).toBe(false);
    expect((await stack.call('GET', `/api/v1/apps/${app.body.id}`, undefined, stack.key)).body.activeBuildId).toBe(b1.body.id);

    const activated = await stack.call('POST', `/api/v1/apps/${app.body.id}/builds/${b2.body.id}/activate`, undefined, stack.key);
    expect(activated.status).toBe(200);
    expect(activated.body).toMatchObject({ id: b2.body.id, active: true });

    const builds = await stack.call('GET', `/api/v1/apps/${app.body.id}/builds`, undefined, stack.key);
    expect(builds.body.data.map((b: { id: string; active: boolean }) => [b.id, b.active])).toEqual([
      [b2.body.id, true],
      [b1.body.id, false],
    ]);
  });

  test('when another account touches an app or build, then 404', async () => {
    const app = await stack.call('POST', '/api/v1/apps', { name: 'Web', platform: 'web' }, stack.key);
    const build = await stack.call('POST', `/api/v1/apps/${app.body.id}/builds`, {}, stack.key);
    const other = await stack.newAccount();
    expect((await stack.call('GET', `/api/v1/apps/${app.body.id}`, undefined, other.apiKey)).status).toBe(404);
    expect((await stack.call('GET', `/api/v1/apps/${app.body.id}/builds`, undefined, other.apiKey)).status).toBe(404);
    expect((await stack.call('POST', `/api/v1/apps/${app.body.id}/builds`, {}, other.apiKey)).status).toBe(404);
    expect(
      (await stack.call('POST', `/api/v1/apps/${app.body.id}/builds/${build.body.id}/activate`, undefined, other.apiKey)).status,
    ).toBe(404);
  });

  test('when a build of another app is activated, then 404 naming the build', async () => {
    const a = await stack.call('POST', '/api/v1/apps', { name: 'A', platform: 'web' }, stack.key);
    const b = await stack.call('POST', '/api/v1/apps', { name: 'B', platform: 'web' }, stack.key);
    const buildOfB = await stack.call('POST', `/api/v1/apps/${b.body.id}/builds`, {}, stack.key);
    const res = await stack.call('POST', `/api/v1/apps/${a.body.id}/builds/${buildOfB.body.id}/activate`, undefined, stack.key);
    expect(res.status).toBe(404);
    expect(res.body.detail[0].loc).toEqual(['path', 'buildId']);
  });
});
