/**
 * The dashboard in a real headless Chromium (playwright-core driving @sparticuz/chromium): sign in
 * with a key, see the runs, open a run's steps and timeline, cancel a running run with its button.
 * Screenshots of the pages are kept in test-artifacts/dashboard/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium';
import { withStack } from './harness';

const SHOTS = path.join(__dirname, '..', 'test-artifacts', 'dashboard');

let browser: Browser;
let page: Page;
/** What the pages' Content-Security-Policy refused: nothing, since the dashboard loads only what it allows. */
const refused: string[] = [];

const stack = withStack({ workers: true, stub: true, app: 'shop', teardown: () => browser?.close() });

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
  });
}, 120_000);

async function trigger(flowId: string): Promise<string> {
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: [flowId] }, stack.key);
  expect(t.status).toBe(200);
  return t.body.runs[0].id;
}

async function status(runId: string): Promise<string> {
  return (await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key)).body.status;
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

it('when a user signs in with a key, then the runs list and a run page with its steps are shown; the cancel button cancels a running run', async () => {
  await stack.call('POST', '/api/v1/flows', { id: 'shown', name: 'Shown flow', steps: [{ id: 'call', name: 'Call the shop', type: 'http', config: { url: `${stack.stub.url}/x` } }, { id: 'sum', name: 'Add up', type: 'transform', dependsOn: [], config: { expression: '1 + 1' } }] }, stack.key);
  await stack.call('POST', '/api/v1/flows', { id: 'long', name: 'Long flow', steps: [{ id: 'wait', name: 'Wait a minute', type: 'delay', config: { durationMs: 60_000 } }] }, stack.key);
  const done = await trigger('shown');
  await until('the run to finish', async () => (await status(done)) === 'succeeded');
  const running = await trigger('long');
  await until('the long run to start', async () => (await status(running)) === 'running');

  await page.goto(`${stack.baseUrl}/ui/`);
  await page.fill('input[name=apiKey]', 'not-a-key');
  await page.click('button:has-text("Sign in")');
  expect(await page.textContent('main')).toContain('That key was not accepted');
  await page.fill('input[name=apiKey]', stack.key);
  await page.click('button:has-text("Sign in")');
  await page.waitForSelector(`a:has-text("${done}")`);
  expect(await page.textContent('main')).toContain(running);
  await page.screenshot({ path: path.join(SHOTS, 'runs.png'), fullPage: true });

  await page.click(`a:has-text("${done}")`);
  await page.waitForSelector('table.steps');
  const steps = await page.$$eval('table.steps tbody tr th:first-child', (tds) => tds.map((td) => td.textContent));
  expect(steps).toEqual(['Call the shop', 'Add up']);
  expect(await page.$$('table.steps .bar.succeeded')).toHaveLength(2);
  expect(await page.getAttribute('a:has-text("workflow in the Temporal UI")', 'href')).toMatch(/\/namespaces\/default\/workflows\/run-/);
  await page.screenshot({ path: path.join(SHOTS, 'run.png'), fullPage: true });
  const log = await page.request.get(`${stack.baseUrl}${await page.getAttribute('a:has-text("log.jsonl")', 'href')}`);
  expect(log.status()).toBe(200);
  expect(await log.text()).toContain('run succeeded');

  await page.goto(`${stack.baseUrl}/ui/runs/${running}`);
  await page.click('#cancel');
  await until('the run to be cancelled', async () => (await status(running)) === 'cancelled');
  await page.goto(`${stack.baseUrl}/ui/runs/${running}`);
  expect(await page.textContent('h1')).toContain('cancelled');
  await page.screenshot({ path: path.join(SHOTS, 'cancelled.png'), fullPage: true });

  // Another account's key, signed in after signing out: the run is not there.
  const other = await stack.newAccount();
  await page.click('button:has-text("Sign out")');
  await page.fill('input[name=apiKey]', other.apiKey);
  await page.click('button:has-text("Sign in")');
  expect(await page.textContent('main')).toContain('No runs yet');
  const res = await page.goto(`${stack.baseUrl}/ui/runs/${done}`);
  expect(res?.status()).toBe(404);
  expect(refused).toEqual([]);
}, 90_000);
