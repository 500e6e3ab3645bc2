/**
 * A page's performance as browser and scan steps record it: web vitals observed from the first paint
 * (an init script added to every context), paint and navigation timings, the JS heap and, on
 * Chromium, CPU time.
 */
import type { BrowserContext, Page } from 'playwright-core';
import type { Browser as BrowserName } from '../../domain/browser';
import type { PagePerformance } from '../../steps/browser';
import { engineOf } from './engines';

export const VITALS_SCRIPT = `(() => {
  const v = (window.__flowrunsVitals = { lcp: null, cls: 0 });
  try { new PerformanceObserver((l) => { for (const e of l.getEntries()) v.lcp = e.startTime; }).observe({ type: 'largest-contentful-paint', buffered: true }); } catch {}
  try { new PerformanceObserver((l) => { for (const e of l.getEntries()) if (!e.hadRecentInput) v.cls += e.value; }).observe({ type: 'layout-shift', buffered: true }); } catch {}
})();`;

/** Read in the page: the vitals the init script observed, paint and navigation timings, the JS heap. */
const MEASURE_SCRIPT = `(() => {
  const v = window.__flowrunsVitals;
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {
    lcp: v ? v.lcp : null,
    cls: v ? v.cls : null,
    fcp: fcp ? fcp.startTime : null,
    ttfb: nav ? nav.responseStart : null,
    dcl: nav ? nav.domContentLoadedEventEnd : null,
    load: nav && nav.loadEventEnd > 0 ? nav.loadEventEnd : null,
    heap: performance.memory ? performance.memory.usedJSHeapSize : null,
  };
})()`;

const round = (n: unknown): number | null => (typeof n === 'number' && Number.isFinite(n) ? Math.round(n * 100) / 100 : null);

/** Web vitals, timings, JS heap and (Chromium) CPU time of the page as it is now. */
export async function measurePage(page: Page, context: BrowserContext, browserName: BrowserName): Promise<PagePerformance> {
  const inPage = (await page.evaluate(MEASURE_SCRIPT).catch(() => null)) as {
    lcp: number | null;
    cls: number | null;
    fcp: number | null;
    ttfb: number | null;
    dcl: number | null;
    load: number | null;
    heap: number | null;
  } | null;
  let cpu: number | null = null;
  let heap = inPage?.heap ?? null;
  if (engineOf(browserName) === 'chromium') {
    const cdp = await context.newCDPSession(page).catch(() => null);
    if (cdp) {
      const metrics = await cdp
        .send('Performance.enable')
        .then(() => cdp.send('Performance.getMetrics'))
        .catch(() => null);
      const get = (n: string) => metrics?.metrics.find((m) => m.name === n)?.value;
      const task = get('TaskDuration');
      if (typeof task === 'number') cpu = task * 1000;
      heap ??= get('JSHeapUsedSize') ?? null;
      await cdp.detach().catch(() => undefined);
    }
  }
  return {
    lcp_ms: round(inPage?.lcp),
    fcp_ms: round(inPage?.fcp),
    cls: round(inPage?.cls),
    ttfb_ms: round(inPage?.ttfb),
    dom_content_loaded_ms: round(inPage?.dcl),
    load_ms: round(inPage?.load),
    js_heap_bytes: typeof heap === 'number' ? Math.round(heap) : null,
    cpu_time_ms: round(cpu),
  };
}
