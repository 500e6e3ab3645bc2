/**
 * The dashboard's pages in a real headless Chromium (SPEC §10 Dashboard): a batch that updates
 * live from its event stream without a reload, the run list's filters, a flow's chart with its
 * flaky run, run-with-inputs and resume from the pages, the schedules page's pause, unpause and
 * trigger; every page axe-clean (no serious or critical violation) and another account's ids not
 * found. Screenshots of each page go to test-artifacts/dashboard/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './chromium';
import { axeProblems, shot, signIn } from './dashboard-browser';
import { runDetailWhenEnded, until, withStack } from './harness';

let browser: Browser;
let context: BrowserContext;
let page: Page;
/** What the pages' Content-Security-Policy refused: nothing, the script included. */
const refused: string[] = [];
/** Whether the wobbly endpoint refuses (409, a failure that is not retried). */
let wobbleFails = true;

const stack = withStack({
  workers: true,
  stub: (req) => {
    if (req.url.startsWith('/wobble') && wobbleFails) return { status: 409, body: 'not yet' };
    return { body: { ok: true } };
  },
  app: 'shop',
  teardown: () => browser?.close(),
});

beforeAll(async () => {
  const flows = [
    { id: 'quick', name: 'Quick flow', steps: [{ id: 'sum', name: 'Add up', type: 'transform', config: { expression: '1 + 1' } }] },
    { id: 'gate', name: 'Gated flow', steps: [{ id: 'review', name: 'Review', type: 'approval', config: { message: 'ship it?' } }] },
    { id: 'greet', name: 'Greeting flow', steps: [{ id: 'call', name: 'Call with the greeting', type: 'http', config: { url: `${stack.stub.url}/hello?g=\${env:GREETING}` } }] },
    { id: 'wobbly', name: 'Wobbly flow', steps: [{ id: 'call', name: 'Call the wobbly endpoint', type: 'http', config: { url: `${stack.stub.url}/wobble` } }] },
  ];
  for (const f of flows) expect((await stack.call('POST', '/api/v1/flows', f, stack.key)).status).toBe(201);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
  });
  await signIn(page, stack.baseUrl, stack.key);
}, 120_000);

async function trigger(flowIds: string[], extra: Record<string, unknown> = {}): Promise<{ batch_id: string; runs: { id: string; flow_id: string }[] }> {
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: flowIds, ...extra }, stack.key);
  expect(t.status).toBe(200);
  return t.body;
}

const runStatus = async (runId: string): Promise<string> => (await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key)).body.status;

const text = async (selector: string): Promise<string> => (await page.textContent(selector)) ?? '';

it('when a batch waits for an approval and it is approved through the API, then its open page updates from the event stream without a reload', async () => {
  const batch = await trigger(['quick', 'gate']);
  const gate = batch.runs.find((r) => r.flow_id === 'gate')!.id;
  await until('the gate to wait', async () => ((await runStatus(gate)) === 'waiting' ? true : undefined));

  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  await page.goto(`${stack.baseUrl}/ui/batches/${batch.batch_id}`);
  navigations = 0;
  expect(await page.getAttribute('#live', 'data-events')).toBe(`/ui/batches/${batch.batch_id}/events`);
  await page.waitForSelector('#progress-text:has-text("1 of 2 runs ended")');
  expect(await text('table.runs')).toContain('waiting');
  await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
  await shot(page, 'batch-running');

  expect((await stack.call('POST', `/api/v1/runs/${gate}/steps/review/approve`, {}, stack.key)).status).toBe(202);
  await page.waitForSelector('#progress-text:has-text("2 of 2 runs ended")', { timeout: 30_000 });
  expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
  expect(navigations).toBe(0);
  expect(await text('table.runs')).not.toContain('waiting');
  // The ended batch's page no longer follows a stream.
  await page.waitForFunction(() => !(globalThis as unknown as { document: { getElementById(id: string): { dataset: Record<string, string> } } }).document.getElementById('live').dataset.events);
  await shot(page, 'batch');

  // The stream behind the page wants the session; the API's own wants a key.
  expect((await fetch(`${stack.baseUrl}/ui/batches/${batch.batch_id}/events`)).status).toBe(401);
  expect((await fetch(`${stack.baseUrl}/api/v1/batches/${batch.batch_id}/events`)).status).toBe(401);
  const live = await page.request.get(`${stack.baseUrl}/ui/runs/${gate}/events`);
  expect(live.headers()['content-type']).toMatch(/^text\/event-stream/);
  expect(await live.text()).toContain('event: run.finished');
}, 90_000);

it('when the run list is filtered by flow, batch, status and source in its query string, then only those runs are listed', async () => {
  const a = await trigger(['quick']);
  const b = await trigger(['quick', 'wobbly'], { source: 'ci' });
  for (const r of [...a.runs, ...b.runs]) await runDetailWhenEnded(stack, r.id, stack.key, 60_000);
  const wobbly = b.runs.find((r) => r.flow_id === 'wobbly')!.id;
  expect(await runStatus(wobbly)).toBe('failed');

  const listed = async (query: string): Promise<string[]> => {
    await page.goto(`${stack.baseUrl}/ui/?${query}`);
    return page.$$eval('table.runs tbody tr td:first-child a', (as) => as.map((x) => x.textContent ?? ''));
  };
  expect(await listed(`batch=${b.batch_id}`)).toEqual(expect.arrayContaining(b.runs.map((r) => r.id)));
  expect(await listed(`batch=${b.batch_id}`)).toHaveLength(2);
  expect(await listed(`flow=wobbly&status=failed`)).toEqual([wobbly]);
  const fromCi = await listed('source=ci');
  expect(fromCi.sort()).toEqual(b.runs.map((r) => r.id).sort());
  expect(await listed(`flow=quick&batch=${a.batch_id}`)).toEqual([a.runs[0]!.id]);
  expect(await page.$eval('select[name=flow]', (s) => (s as unknown as { value: string }).value)).toBe('quick');
  // The filter form keeps the query string's filters and submits them.
  await page.selectOption('select[name=status]', 'succeeded');
  await page.click('button:has-text("Filter")');
  await page.waitForURL(/status=succeeded/);
  expect(new URL(page.url()).searchParams.get('flow')).toBe('quick');
  expect(await listed('status=timed_out')).toEqual([]);
  expect(await text('main')).toContain('No runs match these filters');
  await page.goto(`${stack.baseUrl}/ui/?flow=quick`);
  await shot(page, 'runs-filtered');
}, 90_000);

it('when a failed run is resumed from its page and a flow is run with inputs from its page, then the new runs use them and the flow chart shows outcomes, p50/p95 and the flaky run', async () => {
  const failed = (await trigger(['wobbly'])).runs[0]!.id;
  expect((await runDetailWhenEnded(stack, failed, stack.key, 60_000)).status).toBe('failed');
  wobbleFails = false;
  await page.goto(`${stack.baseUrl}/ui/runs/${failed}`);
  await page.fill('#resume-env', 'EXTRA=1');
  await page.click('#resume');
  await page.waitForURL((u) => /\/ui\/runs\//.test(u.pathname) && !u.pathname.endsWith(failed));
  const resumed = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  const detail = await runDetailWhenEnded(stack, resumed, stack.key, 60_000);
  expect(detail).toMatchObject({ status: 'succeeded', resumed_from: failed, source: 'rerun' });
  expect(detail.variables).toMatchObject({ EXTRA: '1' });

  await page.goto(`${stack.baseUrl}/ui/flows/greet`);
  await page.selectOption('#run-app', stack.appId);
  await page.fill('#run-env', 'GREETING=bonjour');
  await page.fill('#run-data', '{"n": 7}');
  await page.click('#run-flow');
  await page.waitForURL(/\/ui\/runs\//);
  const started = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  const greeted = await runDetailWhenEnded(stack, started, stack.key, 60_000);
  expect(greeted).toMatchObject({ status: 'succeeded', flow_id: 'greet', source: 'dashboard', app_id: stack.appId, trigger_data: { n: 7 } });
  expect(stack.stub.requests.map((r) => r.url)).toContain('/hello?g=bonjour');
  // Bad input is a 400 naming it, not a run.
  await page.goto(`${stack.baseUrl}/ui/flows/greet`);
  await page.fill('#run-data', '{not json');
  const [bad] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/ui/flows/greet/run')), page.click('#run-flow')]);
  expect(bad.status()).toBe(400);
  expect(await text('main')).toContain('data: not JSON');

  await page.goto(`${stack.baseUrl}/ui/flows/wobbly`);
  expect(await page.$$('svg.chart rect.run')).toHaveLength(3);
  expect(await page.$$('svg.chart rect.run.failed')).toHaveLength(2);
  expect(await page.$$('svg.chart rect.run.succeeded')).toHaveLength(1);
  expect(await page.$$('svg.chart .flaky-mark')).toHaveLength(1);
  expect(await page.$$('svg.chart line.p50')).toHaveLength(1);
  expect(await page.$$('svg.chart line.p95')).toHaveLength(1);
  expect(await text('#success-rate')).toContain('33.3% of 3 finished');
  expect(await text('#flaky-count')).toBe('1 of the last 3');
  expect(await page.getAttribute(`svg.chart a[href="/ui/runs/${resumed}"]`, 'aria-label')).toMatch(/succeeded, flaky/);
  expect(await text('table.runs')).toContain('flaky');
  expect(await text('pre')).toContain('"url"');
  await shot(page, 'flow');
}, 120_000);

it('when a schedule is paused, unpaused and triggered from the schedules page, then Temporal holds that state and the firing is listed with its batch', async () => {
  const created = await stack.call('POST', '/api/v1/schedules', { id: 'nightly', spec: { cron: '0 3 * * *' }, trigger: { app_id: stack.appId, flow_ids: ['quick'] } }, stack.key);
  expect(created.status).toBe(201);
  await until('the schedule to be listed', async () => {
    await page.goto(`${stack.baseUrl}/ui/schedules`);
    return (await page.$('#schedule-nightly')) ? true : undefined;
  });
  expect(await page.$$('#schedule-nightly td:nth-child(5) time')).toHaveLength(3);
  expect(await text('#schedule-nightly')).toContain('cron 0 3 * * *');

  await page.click('#schedule-nightly button.pause');
  await page.waitForSelector('#schedule-nightly button.unpause');
  expect((await stack.call('GET', '/api/v1/schedules/nightly', undefined, stack.key)).body.paused).toBe(true);
  await page.click('#schedule-nightly button.unpause');
  await page.waitForSelector('#schedule-nightly button.pause');
  expect((await stack.call('GET', '/api/v1/schedules/nightly', undefined, stack.key)).body.paused).toBe(false);

  await page.click('#schedule-nightly button.trigger');
  await page.waitForSelector('#schedule-nightly td:nth-child(6) a');
  const batchHref = (await page.getAttribute('#schedule-nightly td:nth-child(6) a', 'href'))!;
  await shot(page, 'schedules');
  await until('the fired batch to exist', async () => ((await page.goto(`${stack.baseUrl}${batchHref}`))?.status() === 200 ? true : undefined));
  expect(await text('main')).toContain('schedule');
}, 90_000);

it('when each page is checked with axe-core, then none has a serious or critical violation; the CSP refused nothing; another account finds none of these ids', async () => {
  const done = (await trigger(['quick'])).runs[0]!;
  await runDetailWhenEnded(stack, done.id, stack.key, 60_000);
  const batchId = (await stack.call('GET', `/api/v1/runs/${done.id}`, undefined, stack.key)).body.batch_id;
  // Each step links to its event in the Temporal UI, the run to its workflow there.
  await page.goto(`${stack.baseUrl}/ui/runs/${done.id}`);
  expect(await page.getAttribute('table.steps a.temporal', 'href')).toMatch(/\/namespaces\/default\/workflows\/run-[^/]+\/[^/]+\/history\/events\/\d+$/);
  expect(await page.getAttribute('a:has-text("workflow in the Temporal UI")', 'href')).toMatch(/\/namespaces\/default\/workflows\/run-/);
  const pages = ['/ui/', '/ui/?status=failed', `/ui/runs/${done.id}`, `/ui/batches/${batchId}`, '/ui/flows/wobbly', '/ui/flows/greet', '/ui/schedules'];
  for (const p of pages) expect({ page: p, problems: await axeProblems(browser, context, `${stack.baseUrl}${p}`) }).toEqual({ page: p, problems: [] });
  const anonymous = await browser.newContext({ bypassCSP: true });
  // The sign-in page answers 401 with its form.
  expect(await axeProblems(browser, anonymous, `${stack.baseUrl}/ui/`, 401)).toEqual([]);
  await anonymous.close();
  expect(refused).toEqual([]);

  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await signIn(otherPage, stack.baseUrl, (await stack.newAccount()).apiKey);
  for (const p of [`/ui/runs/${done.id}`, `/ui/batches/${batchId}`, '/ui/flows/wobbly', `/ui/runs/${done.id}/events`])
    expect({ p, status: (await otherPage.goto(`${stack.baseUrl}${p}`).catch(() => null))?.status() }).toEqual({ p, status: 404 });
  expect(await otherPage.textContent('main')).toBeTruthy();
  await otherPage.goto(`${stack.baseUrl}/ui/?flow=wobbly`);
  expect(await otherPage.textContent('main')).toContain('No runs match these filters');
  await other.close();
}, 120_000);
