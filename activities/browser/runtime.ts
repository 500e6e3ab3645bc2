/**
 * Drives `browser` and `scan` steps (steps/browser.ts, steps/scan.ts): each attempt in a browser
 * context of its own (page-attempt.ts), its actions interpreted by actions.ts, its files and records
 * written through a recorder (recorder.ts).
 */
import type { BrowserConfig, BrowserOutput, VrtResult } from '../../steps/browser';
import { DEFAULT_BROWSER_TIMEOUT_MS, VISUAL_MISMATCH } from '../../steps/browser';
import type { ScanConfig, ScanOutput } from '../../steps/scan';
import { LIGHTHOUSE_TIMEOUT_MS } from '../../steps/scan';
import type { BrowserRuntime } from '../../steps/step-type';
import { perform } from './actions';
import { lighthouseScores } from './lighthouse';
import { ActionFailure, assertHttpUrl, withPage, type BrowserRuntimeDeps, type PageAttempt, type PageJob } from './page-attempt';

/** The step types that drive a browser. */
export const BROWSER_STEP_TYPES: ReadonlySet<string> = new Set(['browser', 'scan']);

const MAX_HTML_BYTES = 2 * 1024 * 1024;

export function createBrowserRuntime(deps: BrowserRuntimeDeps, job: PageJob): BrowserRuntime {
  const load = (a: PageAttempt, url: string) =>
    a.step({ action: 'load', url }, async () => {
      assertHttpUrl(url);
      await a.page.goto(url, { waitUntil: 'load' });
    });

  return {
    async browse(c: BrowserConfig): Promise<BrowserOutput> {
      return withPage(deps, job, c, async (a, context) => {
        const extracted: Record<string, string | null> = {};
        const taken: string[] = [];
        await load(a, c.url).catch((err) => {
          a.skipRest(c.actions);
          throw err;
        });
        for (const [i, action] of c.actions.entries()) {
          try {
            await a.step(action, () => perform(a, action, extracted, taken));
          } catch (err) {
            a.skipRest(c.actions.slice(i + 1));
            throw err;
          }
        }
        await a.measure(context);
        return { url: a.page.url(), title: await a.page.title(), extracted, screenshots: taken };
      });
    },

    async scan(c: ScanConfig): Promise<ScanOutput> {
      return withPage(deps, job, c, async (a, context, proxy) => {
        await load(a, c.url);
        await a.page.waitForLoadState('networkidle', { timeout: Math.min(c.timeoutMs ?? DEFAULT_BROWSER_TIMEOUT_MS, 10_000) }).catch(() => undefined);
        const out: ScanOutput = { url: a.page.url(), title: await a.page.title() };
        if (c.types.includes('vrt')) {
          let shot: { name: string; vrt: VrtResult | null } | undefined;
          await a.step({ action: 'screenshot', name: 'scan', fullPage: c.fullPage, mask: c.mask, vrt: { threshold: c.threshold } }, async () => {
            shot = await a.screenshot('scan', { fullPage: c.fullPage, mask: c.mask, vrt: { threshold: c.threshold } });
            return shot.name;
          });
          const v = shot!.vrt!;
          out.vrt = { similarity: v.similarity, threshold: v.threshold, passed: v.passed, baseline_run_id: v.baseline_run_id, diff_url: v.diff ? a.url(v.diff) : null, screenshot_url: a.url('scan.png') };
        }
        if (c.types.includes('html')) {
          const html = await a.page.content();
          const bytes = Buffer.from(html);
          await a.keep('page.html', 'html', bytes);
          out.html = bytes.byteLength > MAX_HTML_BYTES ? bytes.subarray(0, MAX_HTML_BYTES).toString() : html;
        }
        await a.measure(context);
        if (c.types.includes('performance')) out.performance = a.performance!;
        if (c.types.includes('logs')) out.logs = a.console.map((l) => ({ ...l, text: job.redact(l.text) }));
        if (c.types.includes('lighthouse')) {
          await a.step({ action: 'load', url: `lighthouse ${c.url}` }, async () => {
            out.lighthouse = await lighthouseScores(a.page.url(), deps.pool.paths, proxy.url, LIGHTHOUSE_TIMEOUT_MS, job.signal);
          });
        }
        if (out.vrt && !out.vrt.passed)
          throw new ActionFailure(`scan of ${c.url}: ${out.vrt.similarity}% similar to the baseline of run ${out.vrt.baseline_run_id}, below the threshold of ${c.threshold}%`, VISUAL_MISMATCH, true);
        return out;
      });
    },
  };
}
