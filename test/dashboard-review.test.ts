/**
 * The dashboard's visual review in a real headless Chromium: a run whose screenshot differs from
 * the baseline shows baseline, new image and diff side by side with its similarity; its Promote
 * button (a CSRF-carrying form) makes the image the baseline, and the next run is compared with
 * it and passes. The run page links each screenshot to its review; the review page is axe-clean.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './chromium';
import { axeProblems, shot, signIn } from './dashboard-browser';
import { runDetailWhenEnded, withStack, type Loose } from './harness';

let browser: Browser;
let context: BrowserContext;
let page: Page;
let variant = 'blue';
const refused: string[] = [];

const stack = withStack({
  workers: true,
  stub: () => ({
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>VRT</title></head><body><div style="width:400px;height:300px;background:${variant}"></div><p class="clock">${Date.now()}</p></body></html>`,
  }),
  app: 'shop',
  teardown: () => browser?.close(),
});

beforeAll(async () => {
  const flow = {
    id: 'look',
    name: 'Look at the box',
    steps: [{ id: 'shoot', type: 'browser', config: { url: `${stack.stub.url}/vrt`, viewport: '800,600', actions: [{ action: 'screenshot', name: 'box', mask: ['.clock'], vrt: { threshold: 99 } }] } }],
  };
  expect((await stack.call('POST', '/api/v1/flows', flow, stack.key)).status).toBe(201);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
  });
  await signIn(page, stack.baseUrl, stack.key);
}, 180_000);

async function run(): Promise<Loose> {
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: ['look'] }, stack.key);
  expect(t.status).toBe(200);
  return runDetailWhenEnded(stack, t.body.runs[0].id, stack.key, 120_000);
}

/** Whether every image of the page has loaded with some width (the cookie-authorised routes served them). */
const imagesLoaded = () => page.$$eval('.review img', (imgs) => imgs.map((i) => (i as unknown as { complete: boolean }).complete && (i as unknown as { naturalWidth: number }).naturalWidth > 0));

it('when a changed screenshot is promoted from its review page, then it becomes the baseline the next run is compared with', async () => {
  const first = await run();
  expect(first.status).toBe('succeeded');
  variant = 'red';
  const changed = await run();
  expect(changed.status).toBe('failed');
  expect(changed.error.message).toMatch(/screenshot box: [\d.]+% similar/);

  // The run page's screenshot opens its review.
  await page.goto(`${stack.baseUrl}/ui/runs/${changed.id}`);
  await page.click('a:has-text("review box")');
  await page.waitForSelector('h1:has-text("Visual review: box")');
  expect(new URL(page.url()).pathname).toBe(`/ui/runs/${changed.id}/screenshots/box`);
  expect(await page.$$eval('.review figcaption', (f) => f.map((x) => x.textContent))).toEqual(['Baseline', 'This run', 'Diff']);
  expect(await imagesLoaded()).toEqual([true, true, true]);
  const similarity = Number(/([\d.]+)%/.exec((await page.textContent('#similarity')) ?? '')![1]);
  expect(similarity).toBeLessThan(99);
  expect(await page.textContent('#similarity')).toContain(`against the baseline of run ${first.id}`);
  expect(await page.textContent('#baseline-run')).toContain(first.id);
  expect(await axeProblems(browser, context, page.url())).toEqual([]);
  await shot(page, 'review');

  // A promote without the session's CSRF token is refused and changes nothing.
  const forged = await page.request.post(`${stack.baseUrl}/ui/runs/${changed.id}/screenshots/box/promote`, { form: { step_id: 'shoot', csrf: 'forged' } });
  expect(forged.status()).toBe(403);
  expect((await stack.call('GET', '/api/v1/flows/look/baselines', undefined, stack.key)).body.data[0].run_id).toBe(first.id);

  await page.click('#promote');
  await page.waitForSelector('#promoted');
  expect(await page.textContent('#baseline-run')).toContain(changed.id);
  expect(await imagesLoaded()).toEqual([true, true, true]);
  const baselines = (await stack.call('GET', '/api/v1/flows/look/baselines', undefined, stack.key)).body.data;
  expect(baselines).toEqual([expect.objectContaining({ step_id: 'shoot', name: 'box', run_id: changed.id })]);
  await shot(page, 'review-promoted');

  const again = await run();
  expect(again.status).toBe('succeeded');
  await page.goto(`${stack.baseUrl}/ui/runs/${again.id}/screenshots/box`);
  expect(await page.textContent('#similarity')).toContain(`against the baseline of run ${changed.id}`);
  expect(await page.textContent('h1')).toContain('100% similar');
  expect(refused).toEqual([]);

  // Another account finds neither the review nor the images.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await signIn(otherPage, stack.baseUrl, (await stack.newAccount()).apiKey);
  expect((await otherPage.goto(`${stack.baseUrl}/ui/runs/${changed.id}/screenshots/box`))?.status()).toBe(404);
  expect((await otherPage.goto(`${stack.baseUrl}/ui/runs/${changed.id}/screenshots/shoot/box.png`))?.status()).toBe(404);
  await other.close();
}, 400_000);
