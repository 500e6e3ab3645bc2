/**
 * The action interpreter of `browser` steps: what each action of steps/browser.ts does to the page
 * (`perform`), and `expect`, which polls until the page shows what was expected or the action's
 * timeout ends.
 */
import { EXPECTATION_FAILED, VISUAL_MISMATCH, type BrowserAction } from '../../steps/browser';
import { ActionFailure, assertHttpUrl, type PageAttempt } from './page-attempt';

/** Polls `probe` until it holds or the action's timeout ends; answers the last value seen. */
async function until<T>(probe: () => Promise<T>, holds: (v: T) => boolean, timeoutMs: number): Promise<{ ok: boolean; value: T }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (holds(value)) return { ok: true, value };
    if (Date.now() >= deadline) return { ok: false, value };
    await new Promise((r) => setTimeout(r, 100));
  }
}

const expectation = (what: string, expected: unknown, actual: unknown) =>
  new ActionFailure(`expected ${what} ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`, EXPECTATION_FAILED, true);

/** Performs one action; answers the name of the screenshot it took, if any. */
export async function perform(a: PageAttempt, action: BrowserAction, extracted: Record<string, string | null>, taken: string[]): Promise<string | void> {
  const page = a.page;
  switch (action.action) {
    case 'goto':
      assertHttpUrl(action.url);
      await page.goto(action.url, { waitUntil: 'load' });
      return;
    case 'click':
      await page.locator(action.selector).click();
      return;
    case 'fill':
      a.typedSecret(action.selector, action.value);
      await page.locator(action.selector).fill(action.value);
      return;
    case 'select':
      await page.locator(action.selector).selectOption(action.value);
      return;
    case 'press':
      if (action.selector) await page.locator(action.selector).press(action.key);
      else await page.keyboard.press(action.key);
      return;
    case 'hover':
      await page.locator(action.selector).hover();
      return;
    case 'scroll':
      if (action.selector) await page.locator(action.selector).scrollIntoViewIfNeeded();
      else await page.mouse.wheel(0, action.y ?? 0);
      return;
    case 'waitFor':
      if (action.selector) await page.locator(action.selector).first().waitFor({ state: 'visible' });
      else if (action.text) await page.getByText(action.text).first().waitFor({ state: 'visible' });
      else if (action.url) await page.waitForURL((u) => u.href.includes(action.url!));
      else await page.waitForLoadState('networkidle');
      return;
    case 'expect':
      return expectOn(a, action);
    case 'extract': {
      const el = page.locator(action.selector).first();
      extracted[action.as] = action.attribute ? await el.getAttribute(action.attribute) : ((await el.textContent()) ?? '').trim();
      return;
    }
    case 'screenshot': {
      const shot = await a.screenshot(action.name, action);
      taken.push(action.name);
      if (shot.vrt && !shot.vrt.passed)
        throw new ActionFailure(
          `screenshot ${action.name}: ${shot.vrt.similarity}% similar to the baseline of run ${shot.vrt.baseline_run_id}, below the threshold of ${shot.vrt.threshold}%`,
          VISUAL_MISMATCH,
          true,
          shot.name,
        );
      return shot.name;
    }
  }
}

/** `expect`: polls until the page shows what was expected or the action's timeout ends. */
async function expectOn(a: PageAttempt, e: Extract<BrowserAction, { action: 'expect' }>): Promise<void> {
  const page = a.page;
  const timeout = a.timeoutMs;
  if (e.selector === undefined) {
    if (e.url !== undefined) {
      const r = await until(async () => page.url(), (u) => u.includes(e.url!), timeout);
      if (!r.ok) throw expectation('the URL to contain', e.url, r.value);
    } else {
      const r = await until(() => page.title(), (t) => t.includes(e.title!), timeout);
      if (!r.ok) throw expectation('the title to contain', e.title, r.value);
    }
    return;
  }
  const loc = page.locator(e.selector);
  if (e.text !== undefined) {
    const r = await until(async () => (await loc.count()) > 0 ? ((await loc.first().innerText().catch(() => null)) ?? null) : null, (t) => t !== null && t.includes(e.text!), timeout);
    if (!r.ok) throw expectation(`${e.selector} to contain the text`, e.text, r.value ?? `no element matches ${e.selector}`);
  } else if (e.visible) {
    const r = await until(() => loc.first().isVisible(), (v) => v, timeout);
    if (!r.ok) throw expectation(`${e.selector} to be`, 'visible', 'not visible');
  } else if (e.hidden) {
    const r = await until(() => loc.first().isVisible(), (v) => !v, timeout);
    if (!r.ok) throw expectation(`${e.selector} to be`, 'hidden', 'visible');
  } else if (e.count !== undefined) {
    const r = await until(() => loc.count(), (n) => n === e.count, timeout);
    if (!r.ok) throw expectation(`the number of ${e.selector} to be`, e.count, r.value);
  }
}
