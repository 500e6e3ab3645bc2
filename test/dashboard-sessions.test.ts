/**
 * Dashboard sessions, tried as an attacker would: the cookie is an opaque session id (never the
 * key), sign-out and a revoked or expired key end a session, a form posted without the session's
 * CSRF token is refused, the dashboard counts against its key's rate limit like the API, and
 * sign-in attempts are limited per client address.
 */
import { createHash } from 'node:crypto';
import { cookiesOf, hiddenField, ownLoopbackAddress, postFormFrom, signInToDashboard } from './dashboard-session';
import { eventually, startStack, withStack, type Stack } from './harness';

// Sign-in attempts are limited per address; this stack's tests sign in often, the limited one below tries the limit.
const stack = withStack({ workers: true, env: { FLOWRUNS_DASHBOARD_SIGNIN_PER_MINUTE: '0' } });

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  redirect: 'manual' as const,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

/** A run that waits a minute. */
async function runOf(key: string): Promise<string> {
  await stack.call('POST', '/api/v1/flows', { id: 'f', name: 'f', steps: [{ id: 'wait', type: 'delay', config: { durationMs: 60_000 } }] }, key);
  const app = (await stack.call('POST', '/api/v1/apps', { name: 'a', platform: 'web' }, key)).body.id;
  return (await stack.call('POST', '/api/v1/flows/run', { app_id: app, flow_ids: ['f'] }, key)).body.runs[0].id;
}

it('when a user signs in, then the cookie holds an opaque session id, never the key, and Postgres only its hash', async () => {
  const { apiKey, accountId } = await stack.newAccount();
  const s = await signInToDashboard(stack.baseUrl, apiKey);
  const line = s.setCookies.find((c) => c.startsWith('flowruns_session='))!;
  expect(line).toMatch(/; HttpOnly/);
  expect(line).toMatch(/; SameSite=Lax/);
  expect(line).toMatch(/; Path=\/ui/);
  expect(line).not.toMatch(/; Secure/); // http://127.0.0.1 without an https PUBLIC_URL
  expect(s.setCookies.join('\n')).not.toContain(apiKey);
  expect(s.setCookies.join('\n')).not.toContain(encodeURIComponent(apiKey));
  const id = s.cookie.split('=')[1]!;
  expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const rows: { id_hash: string; key_id: string | null; expires_at: Date; created_at: Date }[] = await stack.dataSource.query(
    'SELECT id_hash, key_id, expires_at, created_at FROM dashboard_sessions WHERE account_id = $1',
    [accountId],
  );
  expect(rows).toHaveLength(1);
  expect(rows[0]!.id_hash).toBe(createHash('sha256').update(id).digest('hex'));
  expect(rows[0]!.key_id).toMatch(/.+/);
  expect(rows[0]!.expires_at.getTime() - rows[0]!.created_at.getTime()).toBe(stack.config.dashboardSessionMs);
  expect(JSON.stringify(await stack.dataSource.query('SELECT * FROM dashboard_sessions WHERE account_id = $1', [accountId]))).not.toContain(id);

  // The old key cookie is nothing now.
  const old = await fetch(`${stack.baseUrl}/ui/`, { headers: { cookie: `flowruns_key=${apiKey}` } });
  expect(old.status).toBe(401);
  expect(await old.text()).toContain('<h1>Sign in</h1>');

  // The admin key signs in too, named by its hash, not by a key row.
  await signInToDashboard(stack.baseUrl, stack.adminKey);
  const admin: { n: string }[] = await stack.dataSource.query("SELECT count(*) AS n FROM dashboard_sessions WHERE key_id IS NULL AND account_id = 'default'");
  expect(Number(admin[0]!.n)).toBeGreaterThanOrEqual(1);
});

it('when a user signs out, then the old cookie no longer opens anything and the sign-in page is shown', async () => {
  const { apiKey } = await stack.newAccount();
  const s = await signInToDashboard(stack.baseUrl, apiKey);
  const out = await fetch(`${stack.baseUrl}/ui/logout`, { ...form({ csrf: s.csrf }), headers: { ...form({}).headers, cookie: s.cookie } });
  expect(out.status).toBe(303);
  expect(out.headers.getSetCookie().join()).toMatch(/flowruns_session=;/);
  const after = await fetch(`${stack.baseUrl}/ui/`, { headers: { cookie: s.cookie } });
  expect(after.status).toBe(401);
  expect(await after.text()).toContain('<h1>Sign in</h1>');
});

it('when a form is posted without the session’s CSRF token, then it is refused 403 and nothing is done', async () => {
  const { apiKey } = await stack.newAccount();
  const runId = await runOf(apiKey);
  const status = async () => (await stack.call('GET', `/api/v1/runs/${runId}`, undefined, apiKey)).body.status as string;
  const before = await eventually(status, (v) => v === 'running');
  expect(before).toBe('running');
  const s = await signInToDashboard(stack.baseUrl, apiKey);
  const other = await signInToDashboard(stack.baseUrl, apiKey);
  const cancel = (session: { cookie: string }, fields: Record<string, string>) =>
    fetch(`${stack.baseUrl}/ui/runs/${runId}/cancel`, { ...form(fields), headers: { ...form({}).headers, cookie: session.cookie } });

  const forgeries: Record<string, string>[] = [{}, { csrf: '' }, { csrf: 'guess' }, { csrf: other.csrf }];
  for (const forged of forgeries) {
    const res = await cancel(s, forged);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('CSRF');
  }
  const logout = await fetch(`${stack.baseUrl}/ui/logout`, { ...form({}), headers: { ...form({}).headers, cookie: s.cookie } });
  expect(logout.status).toBe(403);
  expect(await status()).toBe(before);
  expect((await fetch(`${stack.baseUrl}/ui/`, { headers: { cookie: s.cookie } })).status).toBe(200);

  // A key that may only read: the token is right, the scope is not.
  const reader = (await stack.call('POST', '/api/v1/api-keys', { name: 'reader', scopes: ['read'] }, apiKey)).body.apiKey as string;
  const r = await signInToDashboard(stack.baseUrl, reader);
  expect((await cancel(r, { csrf: r.csrf })).status).toBe(403);
  expect(await status()).toBe(before);

  const ok = await cancel(s, { csrf: s.csrf });
  expect(ok.status).toBe(303);
  expect(await eventually(status, (v) => v === 'cancelled')).toBe('cancelled');
});

it('when the sign-in form is posted without its token (another site signing a browser in), then it is refused and no session starts', async () => {
  const { apiKey } = await stack.newAccount();
  const res = await fetch(`${stack.baseUrl}/ui/login`, form({ apiKey }));
  expect(res.status).toBe(403);
  expect(cookiesOf(res).flowruns_session).toBeUndefined();
  const page = await fetch(`${stack.baseUrl}/ui/`);
  const token = hiddenField(await page.text(), 'csrf')!;
  const wrong = await fetch(`${stack.baseUrl}/ui/login`, { ...form({ apiKey, csrf: token }), headers: { ...form({}).headers, cookie: 'flowruns_signin=another' } });
  expect(wrong.status).toBe(403);
  expect(cookiesOf(wrong).flowruns_session).toBeUndefined();
});

it('when the key a session was signed in with is revoked or expires, or the session expires, then the session ends at the next request', async () => {
  const { apiKey } = await stack.newAccount();
  const mint = async (name: string) => (await stack.call('POST', '/api/v1/api-keys', { name }, apiKey)).body as { id: string; apiKey: string };
  const home = (cookie: string) => fetch(`${stack.baseUrl}/ui/`, { headers: { cookie } });

  const revoked = await mint('revoked');
  const a = await signInToDashboard(stack.baseUrl, revoked.apiKey);
  expect((await stack.call('DELETE', `/api/v1/api-keys/${revoked.id}`, undefined, apiKey)).status).toBe(200);
  expect((await home(a.cookie)).status).toBe(401);

  const expiring = await mint('expiring');
  const b = await signInToDashboard(stack.baseUrl, expiring.apiKey);
  await stack.dataSource.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [expiring.id]);
  expect((await home(b.cookie)).status).toBe(401);

  const c = await signInToDashboard(stack.baseUrl, apiKey);
  expect((await home(c.cookie)).status).toBe(200);
  const hash = createHash('sha256').update(c.cookie.split('=')[1]!).digest('hex');
  await stack.dataSource.query("UPDATE dashboard_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = $1", [hash]);
  expect((await home(c.cookie)).status).toBe(401);
});

describe('with rate limits on', () => {
  let limited: Stack;
  // Its sign-ins come from an address of its own: the attempts it spends are not the other files'.
  const from = ownLoopbackAddress();
  beforeAll(async () => {
    limited = await startStack({
      env: { FLOWRUNS_RATE_LIMIT_PER_MINUTE: '60', FLOWRUNS_DASHBOARD_SIGNIN_PER_MINUTE: '12', PUBLIC_URL: 'https://flowruns.example' },
    });
  }, 60_000);
  afterAll(async () => {
    await limited?.stop();
  });

  it('when a key has spent its limit on API calls, then its dashboard session answers 429 too, and the reverse', async () => {
    const { apiKey } = await limited.newAccount();
    const s = await signInToDashboard(limited.baseUrl, apiKey, from);
    expect(s.setCookies.find((c) => c.startsWith('flowruns_session='))).toMatch(/; Secure/);
    let status = 0;
    for (let i = 0; i < 30 && status !== 429; i++) status = (await limited.call('GET', '/api/v1/runs/none', undefined, apiKey)).status;
    expect(status).toBe(429);
    const ui = await fetch(`${limited.baseUrl}/ui/`, { headers: { cookie: s.cookie } });
    expect(ui.status).toBe(429);
    expect(Number(ui.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const other = await limited.newAccount();
    const o = await signInToDashboard(limited.baseUrl, other.apiKey, from);
    status = 0;
    for (let i = 0; i < 30 && status !== 429; i++) status = (await fetch(`${limited.baseUrl}/ui/`, { headers: { cookie: o.cookie } })).status;
    expect(status).toBe(429);
    expect((await limited.call('GET', '/api/v1/runs/none', undefined, other.apiKey)).status).toBe(429);
  });

  it('when sign-in attempts come fast from one address, even under forged X-Forwarded-For, then they are answered 429', async () => {
    const page = await fetch(`${limited.baseUrl}/ui/`);
    const signin = cookiesOf(page).flowruns_signin!;
    const csrf = hiddenField(await page.text(), 'csrf')!;
    const guess = (forwardedFor?: string) =>
      postFormFrom(from, `${limited.baseUrl}/ui/login`, new URLSearchParams({ apiKey: `fr_guess${Math.random()}`, csrf }).toString(), {
        cookie: `flowruns_signin=${signin}`,
        ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await guess()).status);
    expect(statuses).toContain(429);
    const limitedRes = await guess();
    expect(limitedRes.status).toBe(429);
    expect(await limitedRes.text()).toContain('Too many sign-in attempts');

    const spoofed: number[] = [];
    for (let i = 0; i < 30; i++) spoofed.push((await guess(`198.51.100.${i + 1}`)).status);
    expect(spoofed).toContain(429);
  });
});
