/**
 * The dashboard in the tests' headless Chromium: sign in through the form, keep a screenshot of a
 * page under test-artifacts/dashboard/, and check a page with axe-core (injected with
 * addScriptTag into a copy of the page whose CSP is bypassed — the dashboard itself allows no
 * inline script — signed in with the same cookies).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';

export const SHOTS = path.join(__dirname, '..', 'test-artifacts', 'dashboard');
const AXE = require.resolve('axe-core/axe.min.js');

export async function signIn(page: Page, baseUrl: string, key: string): Promise<void> {
  await page.goto(`${baseUrl}/ui/`);
  await page.fill('input[name=apiKey]', key);
  await page.click('button:has-text("Sign in")');
  await page.waitForSelector('h1:has-text("Runs")');
}

export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
}

/** The serious and critical axe-core violations of the page at `url`, each as "rule: help (targets)". */
export async function axeProblems(browser: Browser, signedIn: BrowserContext, url: string, status = 200): Promise<string[]> {
  const context = await browser.newContext({ bypassCSP: true, storageState: await signedIn.storageState(), viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    const res = await page.goto(url);
    if (!res || res.status() !== status) throw new Error(`${url} answered ${res?.status()}`);
    await page.addScriptTag({ path: AXE });
    const result = await page.evaluate(() => {
      const g = globalThis as unknown as { axe: { run(ctx: unknown): Promise<AxeResult> }; document: unknown };
      return g.axe.run(g.document);
    });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`);
  } finally {
    await context.close();
  }
}
