/**
 * Nothing escapes a browser step. The stack's egress policy allows only a stand-in for the public
 * internet (127.0.0.2/32, where the test's "public" sites listen); an "internal" service on
 * 127.0.0.1 counts every TCP connection it accepts. Pages that try every way out — images,
 * frames, fetch, fetch through a redirect, a 302 navigation, a script navigation, a WebSocket, a
 * beacon, a worker, and a Lighthouse scan — leave it at 0. `file:` URLs (literal, via `goto`, via
 * a variable, in a scan) fail and return nothing of the file; a page cannot read another origin's
 * response without CORS; a field a secret was typed into is masked in screenshots.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { runDetailWhenEnded, withStack, type Loose } from './harness';

interface Site {
  url: string;
  connections: number;
  requests: string[];
  close(): Promise<void>;
}

/** A server on `host` that counts its TCP connections (WebSocket upgrades included) and answers with `handler`. */
async function site(host: string, handler: (path: string) => { status?: number; headers?: Record<string, string>; body?: string }): Promise<Site> {
  const s: Site = { url: '', connections: 0, requests: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    s.requests.push(req.url ?? '/');
    const out = handler(req.url ?? '/');
    res.writeHead(out.status ?? 200, { 'content-type': 'text/html; charset=utf-8', ...out.headers });
    res.end(out.body ?? '');
  });
  server.on('connection', () => s.connections++);
  server.on('upgrade', (req, socket) => {
    s.requests.push(`upgrade ${req.url}`);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  s.url = `http://${host}:${(server.address() as AddressInfo).port}`;
  s.close = () => new Promise((resolve) => server.close(() => resolve()));
  return s;
}

const stack = withStack({ env: { FLOWRUNS_EGRESS_ALLOW: '127.0.0.2/32' }, workers: true, account: true });
let internal: Site;
let pub: Site;
let otherOrigin: Site;
let appId: string;
let secretFile: string;
const FILE_SECRET = 'TOP-SECRET-FILE-CONTENT-7f3a';

beforeAll(async () => {
  internal = await site('127.0.0.1', () => ({ headers: { 'access-control-allow-origin': '*' }, body: 'INTERNAL-DATA' }));
  otherOrigin = await site('127.0.0.2', () => ({ headers: { 'content-type': 'application/json' }, body: '{"private":"OTHER-ORIGIN-DATA"}' }));
  const i = internal.url;
  pub = await site('127.0.0.2', (p) => {
    switch (p) {
      case '/everything':
        return {
          body: `<!doctype html><html><head><title>everything</title><link rel="prefetch" href="${i}/prefetch"></head><body>
<img src="${i}/img.png"><iframe src="${i}/frame"></iframe><p id="cors">pending</p><p id="leak">none</p>
<script>
const done = [];
const mark = (what) => { done.push(what); if (done.length === 7) document.body.dataset.done = '1'; };
fetch('${i}/fetch').then((r) => r.text()).then((t) => { document.getElementById('leak').textContent = t; }).catch(() => 0).finally(() => mark('fetch'));
fetch('/redirect').then((r) => r.text()).then((t) => { document.getElementById('leak').textContent = t; }).catch(() => 0).finally(() => mark('redirect'));
fetch('${otherOrigin.url}/data').then((r) => r.text()).then((t) => { document.getElementById('cors').textContent = t; }, () => { document.getElementById('cors').textContent = 'blocked'; }).finally(() => mark('cors'));
navigator.sendBeacon('${i}/beacon', 'x'); mark('beacon');
const x = new XMLHttpRequest(); x.open('GET', '${i}/xhr'); x.onloadend = () => mark('xhr'); x.send();
try { const ws = new WebSocket('${i.replace('http:', 'ws:')}/ws'); ws.onerror = ws.onclose = () => mark('ws'); } catch { mark('ws'); }
const w = new Worker(URL.createObjectURL(new Blob(["fetch('${i}/worker').then(() => postMessage(1), () => postMessage(0))"], { type: 'text/javascript' })));
w.onmessage = () => mark('worker');
</script></body></html>`,
        };
      case '/redirect':
        return { status: 302, headers: { location: `${i}/after-redirect` } };
      case '/navigate':
        return { body: `<!doctype html><title>nav</title><script>setTimeout(() => { location.href = '${i}/script-navigation'; }, 50);</script>` };
      case '/file-nav':
        return { body: `<!doctype html><title>file</title><iframe src="file://${secretFile}"></iframe><script>setTimeout(() => { location.href = 'file://${secretFile}'; }, 50); setTimeout(() => window.open('view-source:file://${secretFile}'), 60);</script>` };
      case '/form':
        return { body: `<!doctype html><title>form</title><body style="margin:0;background:#fff"><input id="pw" type="text" style="font-size:40px;width:600px"><input id="plain" type="text" style="font-size:40px;width:600px"></body>` };
      default:
        return { body: `<!doctype html><title>public</title><h1>public</h1>` };
    }
  });
  secretFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-file-')), 'admin-key');
  fs.writeFileSync(secretFile, FILE_SECRET);
  appId = (await stack.call('POST', '/api/v1/apps', { name: 'public site', platform: 'web', baseUrl: pub.url }, stack.key)).body.id;
}, 180_000);

afterAll(async () => {
  await Promise.all([internal, pub, otherOrigin].map((s) => s?.close()));
  if (secretFile) fs.rmSync(path.dirname(secretFile), { recursive: true, force: true });
});

const get = (url: string) => fetch(url, { headers: { 'X-API-Key': stack.key } });

async function runFlow(id: string, steps: Loose[], extra: Loose = {}): Promise<Loose> {
  const saved = await stack.call('PUT', `/api/v1/flows/${id}`, { id, name: id, steps }, stack.key);
  if (saved.status >= 300) throw new Error(`saving ${id}: ${saved.status} ${JSON.stringify(saved.body)}`);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: [id], ...extra }, stack.key);
  if (t.status !== 200) throw new Error(`triggering ${id}: ${JSON.stringify(t.body)}`);
  return runDetailWhenEnded(stack, t.body.runs[0].id, stack.key, 180_000);
}

const stepOf = (run: Loose, id: string) => run.actions.find((a: Loose) => a.step_id === id && !a.action);

/** Everything the API tells about a run: detail, log and network records. */
async function everything(run: Loose): Promise<string> {
  const parts = [JSON.stringify(run)];
  for (const u of [run.artifacts?.network_requests_url, run.artifacts?.log_url].filter(Boolean)) parts.push(await (await get(u)).text());
  return parts.join('\n');
}

it('when a page tries every way to reach a refused address, then nothing reaches it and each refusal is recorded', async () => {
  const run = await runFlow('everything', [
    {
      id: 'page',
      type: 'browser',
      config: { url: `${pub.url}/everything`, timeoutMs: 15_000, actions: [{ action: 'waitFor', selector: 'body[data-done]' }, { action: 'extract', selector: '#cors', as: 'cors' }, { action: 'extract', selector: '#leak', as: 'leak' }] },
    },
  ]);
  expect(run.status).toBe('succeeded');
  const out = stepOf(run, 'page').output;
  // The other origin sent no CORS header: the page's script could not read it.
  expect(out.extracted).toEqual({ cors: 'blocked', leak: 'none' });
  expect(internal.connections).toBe(0);
  const network = (await (await get(run.artifacts.network_requests_url)).text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const refused = network.filter((r: Loose) => r.url.startsWith(internal.url));
  expect(refused.length).toBeGreaterThanOrEqual(4);
  for (const r of refused) expect(r).toMatchObject({ status: 0, error: expect.stringContaining('not allowed: loopback') });
  expect(refused.map((r: Loose) => r.resource_type)).toEqual(expect.arrayContaining(['image', 'fetch', 'xhr']));
  expect(network.find((r: Loose) => r.url.endsWith('/everything'))).toMatchObject({ status: 200, resource_type: 'document' });
}, 120_000);

it('when a page or a script navigates to a refused address, directly or through a redirect, then the load fails as EgressDenied and nothing reaches it', async () => {
  const redirected = await runFlow('redirect', [{ id: 'page', type: 'browser', config: { url: `${pub.url}/redirect`, timeoutMs: 10_000 } }]);
  expect(redirected.status).toBe('failed');
  expect(redirected.error.message).toContain('not allowed: loopback');
  expect(stepOf(redirected, 'page').attempts).toBe(1);

  const gone = await runFlow('goto-internal', [{ id: 'page', type: 'browser', config: { url: `${pub.url}/`, timeoutMs: 10_000, actions: [{ action: 'goto', url: `${internal.url}/goto` }] } }]);
  expect(gone.status).toBe('failed');
  expect(gone.error.message).toContain('not allowed: loopback');

  const scripted = await runFlow('script-nav', [{ id: 'page', type: 'browser', config: { url: `${pub.url}/navigate`, timeoutMs: 5_000, actions: [{ action: 'waitFor', networkIdle: true }] } }]);
  expect(['succeeded', 'failed']).toContain(scripted.status);
  expect(internal.connections).toBe(0);
}, 120_000);

it('when a Lighthouse scan audits the public site, then its own browser reaches nothing the policy refuses', async () => {
  const run = await runFlow('lighthouse', [{ id: 'audit', type: 'scan', config: { url: `${pub.url}/everything`, types: ['lighthouse'] } }]);
  expect(run.status).toBe('succeeded');
  expect(stepOf(run, 'audit').output.lighthouse.seo).toBeGreaterThanOrEqual(0);
  expect(internal.connections).toBe(0);
}, 240_000);

it('when a flow names a file: (or other non-http) URL literally, then saving it answers 400 naming the field', async () => {
  const cases: [Loose, (string | number)[]][] = [
    [{ type: 'browser', config: { url: `file://${secretFile}` } }, ['config', 'url']],
    [{ type: 'browser', config: { url: `${pub.url}/`, actions: [{ action: 'goto', url: 'view-source:http://127.0.0.2/' }] } }, ['config', 'actions', 0, 'url']],
    [{ type: 'scan', config: { url: 'chrome://version', types: ['html'] } }, ['config', 'url']],
    [{ type: 'browser', config: { url: 'javascript:alert(1)' } }, ['config', 'url']],
  ];
  for (const [step, loc] of cases) {
    const res = await stack.call('PUT', '/api/v1/flows/literal-file', { id: 'literal-file', name: 'f', steps: [{ id: 's', ...step }] }, stack.key);
    expect(res.status).toBe(400);
    expect(res.body.detail).toContainEqual(expect.objectContaining({ loc: ['body', 'steps', 0, ...loc], msg: expect.stringContaining('http or https') }));
  }
});

it('when a variable renders a file: URL into a page, a goto or a scan, then the step fails with EgressDenied and nothing of the file comes back', async () => {
  const target = `file://${secretFile}`;
  const dir = `file://${path.dirname(secretFile)}/`;
  const flows: [string, Loose][] = [
    ['file-url', { id: 's', type: 'browser', config: { url: '${env:TARGET}', actions: [{ action: 'extract', selector: 'body', as: 'body' }] } }],
    ['file-goto', { id: 's', type: 'browser', config: { url: `${pub.url}/`, actions: [{ action: 'goto', url: '${env:TARGET}' }, { action: 'extract', selector: 'body', as: 'body' }] } }],
    ['file-scan', { id: 's', type: 'scan', config: { url: '${env:DIR}', types: ['html', 'vrt'] } }],
  ];
  // From inside a page: a frame, a script navigation and a view-source: window.
  const fromPage = await runFlow('file-from-page', [
    { id: 's', type: 'browser', config: { url: `${pub.url}/file-nav`, timeoutMs: 5000, actions: [{ action: 'waitFor', networkIdle: true }, { action: 'extract', selector: 'body', as: 'body' }] } },
  ]);
  expect(await everything(fromPage)).not.toContain(FILE_SECRET);
  for (const [id, step] of flows) {
    const run = await runFlow(id, [step], { env: { TARGET: target, DIR: dir }, save_env: false });
    expect(run.status).toBe('failed');
    expect(run.error.message).toContain('http and https only');
    // EgressDenied is not retried.
    expect(stepOf(run, 's')).toMatchObject({ status: 'failed', attempts: 1 });
    const all = await everything(run);
    expect(all).not.toContain(FILE_SECRET);
    expect(all).not.toContain('admin-key</a>');
  }
}, 120_000);

it('when a secret is typed into a field, then every screenshot of the step masks that field', async () => {
  const steps = (value: string) => [
    {
      id: 'form',
      type: 'browser',
      config: { url: `${pub.url}/form`, viewport: '800,200', actions: [{ action: 'fill', selector: '#pw', value }, { action: 'screenshot', name: 'typed' }] },
    },
  ];
  const shot = async (run: Loose) => Buffer.from(await (await get(run.actions.find((a: Loose) => a.action === 'screenshot').screenshot_url)).arrayBuffer());
  const secretA = await runFlow('mask-secret', steps('${env:PW}'), { env: { PW: 'hunter2-aaaa' }, secrets: ['PW'], save_env: false });
  const secretB = await runFlow('mask-secret', steps('${env:PW}'), { env: { PW: 'zzzz-other-secret' }, secrets: ['PW'], save_env: false });
  expect([secretA.status, secretB.status]).toEqual(['succeeded', 'succeeded']);
  // Masked: two different secrets give the same picture.
  expect((await shot(secretA)).equals(await shot(secretB))).toBe(true);
  // The control: two different plain values give different pictures, so the comparison can fail.
  const plainA = await runFlow('mask-plain', steps('hunter2-aaaa'));
  const plainB = await runFlow('mask-plain', steps('zzzz-other-secret'));
  expect((await shot(plainA)).equals(await shot(plainB))).toBe(false);
}, 180_000);
