/**
 * Browser and scan steps against the real stack and a real headless Chromium (the one the npm
 * package @sparticuz/chromium carries), driving a small web app the test serves on loopback:
 * a login form, a list loaded by `fetch`, a console error, an image, a slow script.
 */
import { PNG } from 'pngjs';
import { signInToDashboard } from './dashboard-session';
import { runDetailWhenEnded, withStack, type Loose } from './harness';

let appId: string;
let variant = 'blue';

const html = (body: string, title = 'Shop') => ({
  headers: { 'content-type': 'text/html; charset=utf-8' },
  body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`,
});

const logo = (() => {
  const png = new PNG({ width: 8, height: 8 });
  png.data.fill(200);
  return PNG.sync.write(png).toString('latin1');
})();

const stack = withStack({
  workers: true,
  stub: (req) => {
    const url = new URL(req.url, 'http://x');
    switch (url.pathname) {
      case '/login':
        return html(`<form action="/home" method="get"><input id="user" name="user"><input id="pass" name="pass" type="password"><button type="submit">Sign in</button></form>`, 'Sign in');
      case '/home':
        return html(
          `<h1 class="welcome">Hello ${url.searchParams.get('user') ?? 'nobody'}</h1>
           <img src="/logo.png" alt="logo"><span class="balance">42.50</span><div class="clock">${Date.now()}</div>
           <ul id="results"></ul>
           <script src="/slow.js"></script>
           <script>
             console.error('boom from the page');
             fetch('/api/items?q=shoes').then((r) => r.json()).then((items) => {
               for (const i of items) { const li = document.createElement('li'); li.textContent = i; document.getElementById('results').appendChild(li); }
             });
           </script>`,
          'Home',
        );
      case '/api/items':
        return { body: ['red shoes', 'blue shoes', 'green shoes'] };
      case '/logo.png':
        return { headers: { 'content-type': 'image/png' }, body: logo };
      case '/slow.js':
        return { headers: { 'content-type': 'application/javascript' }, body: 'console.log("slow script loaded")', delayMs: 300 };
      case '/vrt':
        return html(`<div style="width:400px;height:300px;background:${variant}"></div><p class="clock">${Date.now()}</p>`, 'VRT');
      default:
        return { status: 404, body: 'not found' };
    }
  },
  account: true,
});

beforeAll(async () => {
  appId = (await stack.call('POST', '/api/v1/apps', { name: 'shop', platform: 'web', baseUrl: stack.stub.url, variables: { PASSWORD: 'hunter2-secret' }, secrets: ['PASSWORD'] }, stack.key)).body.id;
});

async function runFlow(flow: Loose, extra: Loose = {}): Promise<Loose> {
  const saved = await stack.call('POST', '/api/v1/flows', flow, stack.key);
  // A flow run again is already saved.
  if (saved.status !== 201 && saved.status !== 409) throw new Error(`saving ${flow.id}: ${JSON.stringify(saved.body)}`);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: [flow.id], ...extra }, stack.key);
  if (t.status !== 200) throw new Error(`triggering ${flow.id}: ${JSON.stringify(t.body)}`);
  const runId = t.body.runs[0].id;
  return runDetailWhenEnded(stack, runId, stack.key, 120_000);
}

const get = (url: string) => fetch(url, { headers: { 'X-API-Key': stack.key } });
const jsonl = async (url: string): Promise<Loose[]> =>
  (await (await get(url)).text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

const loginFlow = (id: string, expectText: string) => ({
  id,
  name: `log in (${id})`,
  steps: [
    {
      id: 'login',
      type: 'browser',
      config: {
        url: `${stack.stub.url}/login`,
        viewport: '1024,700',
        timeoutMs: 5000,
        actions: [
          { action: 'fill', selector: '#user', value: 'ada' },
          { action: 'fill', selector: '#pass', value: '${env:PASSWORD}' },
          { action: 'click', selector: 'button[type=submit]' },
          { action: 'waitFor', selector: '.welcome' },
          { action: 'expect', selector: '.welcome', text: expectText },
          { action: 'expect', selector: '#results li', count: 3 },
          { action: 'extract', selector: '.balance', as: 'balance' },
          { action: 'screenshot', name: 'home', mask: ['.clock'] },
        ],
      },
    },
    { id: 'total', type: 'transform', dependsOn: ['login'], config: { expression: '$number(steps.login.output.extracted.balance) * 2' } },
  ],
});

it('when a flow logs in, searches and asserts, then it passes with its screenshots, console, network and performance recorded', async () => {
  const run = await runFlow(loginFlow('shop-login', 'Hello ada'));
  expect(run.status).toBe('succeeded');
  const step = run.actions.find((a: Loose) => a.step_id === 'login' && !a.action);
  expect(step.output).toEqual({ url: expect.stringContaining('/home?user=ada'), title: 'Home', extracted: { balance: '42.50' }, screenshots: ['home'] });
  expect(step.browser).toEqual({ name: 'chromium', engine: 'chromium', version: expect.any(String) });
  expect(run.actions.find((a: Loose) => a.step_id === 'total').output).toBe(85);

  const actions = run.actions.filter((a: Loose) => a.action);
  expect(actions.map((a: Loose) => [a.action, a.status])).toEqual([
    ['load', 'succeeded'],
    ['fill', 'succeeded'],
    ['fill', 'succeeded'],
    ['click', 'succeeded'],
    ['waitFor', 'succeeded'],
    ['expect', 'succeeded'],
    ['expect', 'succeeded'],
    ['extract', 'succeeded'],
    ['screenshot', 'succeeded'],
  ]);
  const shot = actions[actions.length - 1];
  expect(shot.screenshot_url).toMatch(new RegExp(`/api/v1/runs/${run.id}/artifacts/screenshots/login/home\\.png$`));
  expect(step.screenshot_url).toBe(shot.screenshot_url);
  const png = await get(shot.screenshot_url);
  expect(png.headers.get('content-type')).toBe('image/png');
  const image = PNG.sync.read(Buffer.from(await png.arrayBuffer()));
  expect([image.width, image.height]).toEqual([1024, 700]);
  expect((await fetch(shot.screenshot_url)).status).toBe(401);
  const other = (await stack.newAccount()).apiKey;
  expect((await fetch(shot.screenshot_url, { headers: { 'X-API-Key': other } })).status).toBe(404);

  const network = await jsonl(run.artifacts.network_requests_url);
  const types = (path: string) => network.filter((r) => new URL(r.url).pathname === path).map((r) => [r.resource_type, r.status]);
  expect(types('/login')).toEqual([['document', 200]]);
  expect(types('/api/items')).toEqual([['fetch', 200]]);
  expect(types('/logo.png')).toEqual([['image', 200]]);
  expect(types('/slow.js')).toEqual([['script', 200]]);
  expect(network.find((r) => r.url.includes('/slow.js')).duration_ms).toBeGreaterThanOrEqual(250);

  const log = await jsonl(run.artifacts.log_url);
  expect(log).toContainEqual(expect.objectContaining({ source: 'console', level: 'error', step: 'login', message: expect.stringContaining('boom from the page') }));
  expect(log).toContainEqual(expect.objectContaining({ source: 'console', level: 'info', message: expect.stringContaining('slow script loaded') }));

  const perf = (await (await get(run.artifacts.performance_metrics_url)).json()) as Loose;
  const login = perf.steps.find((s: Loose) => s.step_id === 'login');
  expect(login.fcp_ms).toBeGreaterThan(0);
  expect(login.ttfb_ms).toBeGreaterThanOrEqual(0);
  expect(login.js_heap_bytes).toBeGreaterThan(0);
  expect(login.cpu_time_ms).toBeGreaterThan(0);

  // The dashboard's run page shows the screenshot, served behind its session cookie.
  const cookie = { cookie: (await signInToDashboard(stack.baseUrl, stack.key)).cookie };
  const ui = await (await fetch(`${stack.baseUrl}/ui/runs/${run.id}`, { headers: cookie })).text();
  expect(ui).toContain(`/ui/runs/${run.id}/screenshots/login/home.png`);
  const uiShot = await fetch(`${stack.baseUrl}/ui/runs/${run.id}/screenshots/login/home.png`, { headers: cookie });
  expect(uiShot.headers.get('content-type')).toBe('image/png');

  // The secret typed into the password field is nowhere in what was recorded.
  const everything = JSON.stringify([run, network, log, perf]);
  expect(everything).not.toContain('hunter2-secret');
  expect(network.find((r) => r.url.includes('/home?')).url).toContain('pass=***');
});

it('when an expectation fails, then the step fails with expected and actual, and the failing action has a screenshot', async () => {
  const run = await runFlow(loginFlow('shop-login-wrong', 'Goodbye'));
  expect(run.status).toBe('failed');
  expect(run.error).toEqual({ step: 'login', message: expect.stringContaining('expected .welcome to contain the text "Goodbye", found "Hello ada"') });
  const actions = run.actions.filter((a: Loose) => a.action);
  const failed = actions.find((a: Loose) => a.status === 'failed');
  expect(failed).toMatchObject({ action: 'expect', selector: '.welcome', error: expect.stringContaining('Goodbye') });
  expect(failed.screenshot_url).toMatch(/failure-\d+\.png$/);
  expect((await get(failed.screenshot_url)).status).toBe(200);
  expect(actions.slice(actions.indexOf(failed) + 1).every((a: Loose) => a.status === 'skipped')).toBe(true);
  // A failed expectation is a verdict: not retried.
  expect(run.actions.find((a: Loose) => a.step_id === 'login' && !a.action).attempts).toBe(1);
});

it('when a scan asks for html, logs and performance, then its output carries them and the FlowRun-objects contract shows it as a scan node', async () => {
  const flow = { id: 'home-scan', name: 'scan home', steps: [{ id: 'scan', type: 'scan', config: { url: `${stack.stub.url}/home?user=scan`, types: ['html', 'logs', 'performance'] } }] };
  const run = await runFlow(flow);
  expect(run.status).toBe('succeeded');
  const out = run.actions.find((a: Loose) => a.step_id === 'scan' && !a.action).output;
  expect(out.html).toContain('<h1 class="welcome">Hello scan</h1>');
  expect(out.html).toContain('<li>red shoes</li>');
  expect(out.logs).toContainEqual(expect.objectContaining({ level: 'error', text: 'boom from the page' }));
  expect(out.performance).toMatchObject({ fcp_ms: expect.any(Number), js_heap_bytes: expect.any(Number) });
  const page = await get(`${stack.baseUrl}/api/v1/runs/${run.id}/artifacts/screenshots/scan/page.html`);
  expect(page.headers.get('content-type')).toContain('text/html');
  // The page the flow rendered never runs on the gateway's origin (SPEC §10 Artifacts).
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  expect(page.headers.get('content-security-policy')).toBe('sandbox');
  expect(page.headers.get('content-disposition')).toMatch(/^attachment/);

  const node = (await stack.call('GET', `/v1/ops/flowrun/${run.id}`, undefined, stack.key)).body.nodes[0].data;
  expect(node).toMatchObject({ task_type: 'scan', type: ['html', 'logs', 'performance'], threshold: 95, uri: `${stack.stub.url}/home?user=scan`, status: 'passed' });
});

it('when a screenshot asks for visual regression, then the first run sets the baseline, a changed page fails with a diff, and promotion makes it pass', async () => {
  const flow = {
    id: 'vrt-page',
    name: 'vrt',
    steps: [{ id: 'look', type: 'browser', config: { url: `${stack.stub.url}/vrt`, viewport: '800,600', actions: [{ action: 'screenshot', name: 'box', mask: ['.clock'], vrt: { threshold: 99 } }] } }],
  };
  variant = 'blue';
  const first = await runFlow(flow);
  expect(first.status).toBe('succeeded');
  const second = await runFlow(flow);
  expect(second.status).toBe('succeeded');

  variant = 'red';
  const changed = await runFlow(flow);
  expect(changed.status).toBe('failed');
  expect(changed.error.message).toMatch(new RegExp(`screenshot box: [\\d.]+% similar to the baseline of run ${first.id}, below the threshold of 99%`));
  const diff = await get(`${stack.baseUrl}/api/v1/runs/${changed.id}/artifacts/screenshots/look/box.diff.png`);
  expect(diff.status).toBe(200);
  expect(PNG.sync.read(Buffer.from(await diff.arrayBuffer())).width).toBe(800);

  // The FlowRun-objects contract's node lists the screenshot with its score against the threshold.
  const node = (await stack.call('GET', `/v1/ops/flowrun/${changed.id}`, undefined, stack.key)).body.nodes[0].data;
  expect(node.screenshots).toEqual([{ name: 'box', url: expect.stringMatching(/\/artifacts\/screenshots\/look\/box\.png$/), similarity: expect.any(Number), threshold: 99 }]);
  expect(node.screenshots[0].similarity).toBeLessThan(99);
  expect((await get(node.screenshots[0].url)).status).toBe(200);

  const promoted = await stack.call('POST', `/api/v1/runs/${changed.id}/screenshots/box/promote`, {}, stack.key);
  expect(promoted.status).toBe(200);
  expect(promoted.body).toMatchObject({ flow_id: 'vrt-page', step_id: 'look', name: 'box', browser: 'chromium', viewport: '800x600', run_id: changed.id });
  const again = await runFlow(flow);
  expect(again.status).toBe('succeeded');

  const baselines = await stack.call('GET', '/api/v1/flows/vrt-page/baselines', undefined, stack.key);
  expect(baselines.body.data).toHaveLength(1);
  expect(baselines.body.data[0].run_id).toBe(changed.id);
  expect((await get(baselines.body.data[0].image_url)).status).toBe(200);
  expect((await stack.call('POST', `/api/v1/runs/${changed.id}/screenshots/nope/promote`, {}, stack.key)).status).toBe(404);
});

it('when a run asks for firefox and none is configured, then the trigger answers 400 naming the browser', async () => {
  await stack.call('POST', '/api/v1/flows', loginFlow('ff-login', 'Hello ada'), stack.key);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: ['ff-login'], browser: 'firefox' }, stack.key);
  expect(t.status).toBe(400);
  expect(t.body.detail[0].loc).toEqual(['body', 'browser']);
  expect(t.body.detail[0].msg).toContain('firefox');
  const edge = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: ['ff-login'], browser: 'Microsoft Edge' }, stack.key);
  expect(edge.status).toBe(200);
});

it('when a page is saved with a bad action, then the flow save answers 400 naming the field', async () => {
  const bad = { id: 'bad-browser', name: 'bad', steps: [{ id: 's', type: 'browser', config: { url: 'http://x', actions: [{ action: 'expect', selector: '.a' }] } }] };
  const res = await stack.call('POST', '/api/v1/flows', bad, stack.key);
  expect(res.status).toBe(400);
  expect(JSON.stringify(res.body.detail)).toContain('actions');
  const scan = { id: 'bad-scan', name: 'bad', steps: [{ id: 's', type: 'scan', config: { url: 'http://x', types: ['yellowlab'] } }] };
  const res2 = await stack.call('POST', '/api/v1/flows', scan, stack.key);
  expect(res2.status).toBe(400);
  expect(JSON.stringify(res2.body.detail)).toContain('types');
});

it('when a scan asks for lighthouse, then Lighthouse scores the page offline with the same Chromium', async () => {
  const flow = { id: 'home-lighthouse', name: 'lighthouse', steps: [{ id: 'audit', type: 'scan', config: { url: `${stack.stub.url}/home?user=lh`, types: ['lighthouse'] } }] };
  const run = await runFlow(flow);
  expect(run.status).toBe('succeeded');
  const out = run.actions.find((a: Loose) => a.step_id === 'audit' && !a.action).output;
  for (const category of ['accessibility', 'best_practices', 'seo']) {
    expect(out.lighthouse[category]).toBeGreaterThanOrEqual(0);
    expect(out.lighthouse[category]).toBeLessThanOrEqual(100);
  }
}, 180_000);

