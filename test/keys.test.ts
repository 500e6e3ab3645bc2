/** API keys: scopes, expiry, revocation at once, a rate limit per key and per account, and a bound on an account's keys. */
import { withStack } from './harness';

const stack = withStack({
  env: { FLOWRUNS_RATE_LIMIT_PER_MINUTE: '600', FLOWRUNS_RATE_LIMIT_PER_ACCOUNT_PER_MINUTE: '900', FLOWRUNS_MAX_KEYS_PER_ACCOUNT: '5' },
});

async function keyWith(owner: string, body: Record<string, unknown>): Promise<string> {
  const res = await stack.call('POST', '/api/v1/api-keys', { name: 'k', ...body }, owner);
  expect([res.status, res.body.scopes ?? res.body]).toEqual([201, expect.any(Array)]);
  return res.body.apiKey;
}

const flow = { steps: [{ id: 't', type: 'transform', config: { expression: '1' } }] };

describe('API key scopes', () => {
  it('when a key has only the read scope, then it reads but may not trigger, define flows or manage keys', async () => {
    const { apiKey: owner } = await stack.newAccount();
    expect((await stack.call('POST', '/api/v1/flows', { id: 'f1', ...flow }, owner)).status).toBe(201);
    const reader = await keyWith(owner, { scopes: ['read'] });

    expect((await stack.call('GET', '/api/v1/flows', undefined, reader)).status).toBe(200);
    const trigger = await stack.call('POST', '/api/v1/flows/f1/runs', { data: {} }, reader);
    expect(trigger.status).toBe(403);
    expect(trigger.body).toEqual({ error: 'this key lacks the "run" scope', detail: [] });
    expect((await stack.call('POST', '/api/v1/flows', { id: 'f2', ...flow }, reader)).status).toBe(403);
    expect((await stack.call('GET', '/api/v1/api-keys', undefined, reader)).status).toBe(403);
  });

  it('when a key has read and run, then it triggers runs but may not create keys; a key with admin may', async () => {
    const { apiKey: owner } = await stack.newAccount();
    expect((await stack.call('POST', '/api/v1/flows', { id: 'f1', ...flow }, owner)).status).toBe(201);
    const runner = await keyWith(owner, { scopes: ['read', 'run'] });
    expect((await stack.call('POST', '/api/v1/flows/f1/runs', { data: {} }, runner)).status).toBe(201);
    const denied = await stack.call('POST', '/api/v1/api-keys', { name: 'x' }, runner);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('this key lacks the "admin" scope');

    const admin = await keyWith(owner, { scopes: ['read', 'run', 'admin'] });
    expect((await stack.call('POST', '/api/v1/api-keys', { name: 'y' }, admin)).status).toBe(201);
  });

  it('when a key is created without scopes, then it has all three, as keys always had', async () => {
    const { apiKey: owner } = await stack.newAccount();
    const res = await stack.call('POST', '/api/v1/api-keys', { name: 'ci' }, owner);
    expect(res.body).toMatchObject({ scopes: ['read', 'run', 'admin'], expiresAt: null });
  });

  it('when scopes or expiresAt are invalid, then the 400 names the field', async () => {
    const { apiKey: owner } = await stack.newAccount();
    const badScope = await stack.call('POST', '/api/v1/api-keys', { name: 'x', scopes: ['write'] }, owner);
    expect(badScope.status).toBe(400);
    expect(badScope.body.detail[0].loc).toEqual(['body', 'scopes', 0]);
    const past = await stack.call('POST', '/api/v1/api-keys', { name: 'x', expiresAt: '2020-01-01T00:00:00Z' }, owner);
    expect(past.status).toBe(400);
    expect(past.body.detail[0].loc).toEqual(['body', 'expiresAt']);
  });
});

describe('expiry and revocation', () => {
  it('when a key expires, then the next request with it is 401 "API key expired"', async () => {
    const { apiKey: owner } = await stack.newAccount();
    const expiring = await keyWith(owner, { expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await stack.call('GET', '/api/v1/flows', undefined, expiring)).status).toBe(200);
    let res = await stack.call('GET', '/api/v1/flows', undefined, expiring);
    for (let i = 0; i < 40 && res.status === 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await stack.call('GET', '/api/v1/flows', undefined, expiring);
    }
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('API key expired');
  });

  it('when a key is revoked, then the very next request with it is 401', async () => {
    const { apiKey: owner } = await stack.newAccount();
    const created = await stack.call('POST', '/api/v1/api-keys', { name: 'tmp' }, owner);
    expect((await stack.call('GET', '/api/v1/flows', undefined, created.body.apiKey)).status).toBe(200);
    expect((await stack.call('DELETE', `/api/v1/api-keys/${created.body.id}`, undefined, owner)).status).toBe(200);
    expect((await stack.call('GET', '/api/v1/flows', undefined, created.body.apiKey)).status).toBe(401);
  });
});

describe('rate limit', () => {
  it('when a key goes over its rate, then it gets 429 with Retry-After, while another key is unaffected', async () => {
    const { apiKey: busy } = await stack.newAccount();
    const { apiKey: calm } = await stack.newAccount();
    const statuses: number[] = [];
    let limited: any;
    for (let i = 0; i < 150 && !limited; i++) {
      const res = await stack.call('GET', '/api/v1/flows', undefined, busy);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(limited).toBeDefined();
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.body.error).toMatch(/rate limit of 600 requests a minute/);
    // The burst is a sixth of the per-minute rate.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(99);
    expect((await stack.call('GET', '/api/v1/flows', undefined, calm)).status).toBe(200);
    expect((await stack.call('GET', '/healthz', undefined, null)).status).toBe(200);
  });

  it("when two keys of one account together go over the account's rate, then 429 names the account's limit, while another account's requests pass", async () => {
    const { apiKey: first } = await stack.newAccount();
    const second = await keyWith(first, {});
    const { apiKey: other } = await stack.newAccount();
    const passed = new Map([
      [first, 1],
      [second, 0],
    ]);
    let limited: any;
    for (let i = 0; i < 400 && !limited; i++) {
      const key = i % 2 ? first : second;
      const res = await stack.call('GET', '/api/v1/flows', undefined, key);
      if (res.status === 429) limited = res;
      else passed.set(key, (passed.get(key) as number) + 1);
    }
    expect(limited).toBeDefined();
    expect(limited.body.error).toMatch(/^rate limit of 900 requests a minute for this account \(all its keys together\) exceeded; retry in \d+s$/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // The account's burst (150) was spent by the two keys together; the 429 names the account's
    // bucket, not a key's (how many each key got depends on refill while the loop runs, so no bound on that).
    expect(passed.get(first)! + passed.get(second)!).toBeGreaterThanOrEqual(150);
    expect((await stack.call('GET', '/api/v1/flows', undefined, other)).status).toBe(200);
  });
});

describe('keys per account', () => {
  const create = (owner: string, body: Record<string, unknown> = {}) => stack.call('POST', '/api/v1/api-keys', { name: 'k', ...body }, owner);

  it('when an account holds as many live keys as it may, then one more is 409 naming the bound; a revoked or expired key frees its place', async () => {
    const { apiKey: owner, accountId } = await stack.newAccount();
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await create(owner)).body);
    const expiring = await create(owner, { expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect(expiring.status).toBe(201);

    const refused = await create(owner);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('the account already holds 5 live API keys, the most it may (FLOWRUNS_MAX_KEYS_PER_ACCOUNT=5); revoke one first');
    // The admin is held to the same bound for the account.
    expect((await stack.call('POST', '/api/v1/api-keys', { name: 'k', accountId })).status).toBe(409);
    // Another account is not.
    expect((await create((await stack.newAccount()).apiKey)).status).toBe(201);

    expect((await stack.call('DELETE', `/api/v1/api-keys/${made[0].id}`, undefined, owner)).status).toBe(200);
    expect((await create(owner)).status).toBe(201);
    expect((await create(owner)).status).toBe(409);

    await new Promise((r) => setTimeout(r, 1600));
    expect((await create(owner)).status).toBe(201);
  });

  it('when several keys are created at once for the last place, then exactly one is', async () => {
    const { apiKey: owner } = await stack.newAccount();
    for (let i = 0; i < 3; i++) expect((await create(owner)).status).toBe(201);
    const statuses = (await Promise.all([1, 2, 3, 4, 5].map(() => create(owner)))).map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409]);
  });
});
