/**
 * Drives `browser` and `scan` steps (steps/browser.ts, steps/scan.ts): one attempt in a browser
 * of its own. Every connection the browser makes goes through the attempt's egress proxy
 * (egress-proxy.ts: the egress policy and its rebinding check hold for pages as for http steps);
 * only http(s) URLs are ever loaded. Every request is recorded for `network.jsonl` (a refused one
 * with status 0 and the reason); console lines go to the run log (`source: "console"`); each action is
 * recorded with its timing, error and screenshot in `step_runs.details`, also when the attempt
 * fails; screenshots go to the artifact store, compared with their baseline when they ask for it.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { BrowserContext, BrowserContextOptions, Page, Request } from 'playwright-core';
import type { DataSource } from 'typeorm';
import { artifactKey, type ArtifactStore } from '../../db/artifact-store';
import type { LogLine, Projections } from '../../db/projections';
import { normalizeBrowser, type Browser as BrowserName } from '../../domain/browser';
import {
  BROWSER_UNAVAILABLE,
  DEFAULT_BROWSER_TIMEOUT_MS,
  EXPECTATION_FAILED,
  VISUAL_MISMATCH,
  type ActionRecord,
  type BrowserAction,
  type BrowserConfig,
  type BrowserDetails,
  type BrowserOutput,
  type PagePerformance,
  type Viewport,
  type VrtResult,
} from '../../steps/browser';
import { EGRESS_DENIED } from '../../steps/http';
import type { ConsoleLine, ScanConfig, ScanOutput } from '../../steps/scan';
import { LIGHTHOUSE_TIMEOUT_MS } from '../../steps/scan';
import type { BrowserRuntime, RequestRecord } from '../../steps/step-type';
import type { EgressProxy } from './egress-proxy';
import { engineOf, playwright } from './engines';
import { lighthouseScores } from './lighthouse';
import type { BrowserPool } from './pool';
import { compareScreenshots, pngSize } from './vrt';

export interface BrowserRuntimeDeps {
  pool: BrowserPool;
  /** Where the attempt's files, baselines and records go: the platform's store and tables, or (on an agent) back to the platform. */
  recorder: PageRecorder;
  /** The gateway's public URL, for the artifact links in outputs. */
  publicUrl: string;
}

/** The step types that drive a browser. */
export const BROWSER_STEP_TYPES: ReadonlySet<string> = new Set(['browser', 'scan']);

export type ArtifactKind = 'screenshot' | 'diff' | 'html';

/** What a visual baseline is kept by: the screenshot's flow, step, name, browser and viewport. */
export interface BaselineKey {
  accountId: string;
  flowId: string;
  stepId: string;
  name: string;
  browser: string;
  viewport: string;
}

/** What one attempt writes, as it writes it. Everything given it is already masked. */
export interface PageRecorder {
  /** Keeps one of the step's files. */
  keep(job: RecordedAttempt, file: ArtifactFile): Promise<void>;
  /** The baseline a screenshot is compared with, or null when there is none yet. */
  baseline(key: BaselineKey): Promise<{ png: Buffer; runId: string } | null>;
  /** Makes `png` the baseline (the first screenshot of its kind; a concurrent first run may win instead). */
  setBaseline(key: BaselineKey, png: Buffer, size: { width: number; height: number }, publicRunId: string): Promise<void>;
  /** The attempt's requests, console lines and details, whether it passed or not. */
  flush(job: RecordedAttempt, records: PageRecords): Promise<void>;
}

/** The attempt a record belongs to. */
export type RecordedAttempt = Pick<PageJob, 'runId' | 'stepKey' | 'attempt'>;
export interface ArtifactFile {
  name: string;
  kind: ArtifactKind;
  data: Buffer;
  meta: Record<string, unknown>;
}
/** What an attempt did besides its files: the page's requests, its console lines, the actions and timings. */
export interface PageRecords {
  requests: RequestRecord[];
  lines: LogLine[];
  details: BrowserDetails;
}

export const contentTypeOf = (kind: ArtifactKind): string => (kind === 'html' ? 'text/html; charset=utf-8' : 'image/png');

/** A platform worker's recorder: files in the artifact store, records in Postgres. */
export function platformRecorder(deps: { store: ArtifactStore; projections: Projections; dataSource: DataSource }): PageRecorder {
  return {
    async keep(job, { name, kind, data, meta }) {
      const storageKey = artifactKey('runs', job.runId, job.stepKey, name);
      await deps.store.put(storageKey, data);
      await deps.projections.artifact({ runId: job.runId, stepId: job.stepKey, name, kind, storageKey, contentType: contentTypeOf(kind), bytes: data.byteLength, meta: { ...meta, attempt: job.attempt } });
    },
    async baseline(k) {
      const rows: { storage_key: string; run_id: string }[] = await deps.dataSource.query(
        `SELECT storage_key, run_id FROM visual_baselines WHERE account_id = $1 AND flow_id = $2 AND step_id = $3 AND name = $4 AND browser = $5 AND viewport = $6`,
        [k.accountId, k.flowId, k.stepId, k.name, k.browser, k.viewport],
      );
      const png = rows[0] ? await deps.store.get(rows[0].storage_key) : null;
      return rows[0] && png ? { png, runId: rows[0].run_id } : null;
    },
    async setBaseline(k, png, size, publicRunId) {
      const storageKey = artifactKey('baselines', k.accountId, `${randomUUID()}.png`);
      await deps.store.put(storageKey, png);
      await deps.dataSource.query(
        `INSERT INTO visual_baselines (account_id, flow_id, step_id, name, browser, viewport, storage_key, run_id, width, height) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (account_id, flow_id, step_id, name, browser, viewport) DO UPDATE SET storage_key = EXCLUDED.storage_key, run_id = EXCLUDED.run_id,
           width = EXCLUDED.width, height = EXCLUDED.height, created_at = now()`,
        [k.accountId, k.flowId, k.stepId, k.name, k.browser, k.viewport, storageKey, publicRunId, size.width, size.height],
      );
    },
    async flush(job, { requests, lines, details }) {
      await deps.projections.requests(requests.map((r) => ({ ...r, runId: job.runId, stepId: job.stepKey })));
      await deps.projections.log(job.runId, lines);
      await deps.projections.stepDetails(job.runId, job.stepKey, details);
    },
  };
}

/** The step attempt the runtime is bound to. */
export interface PageJob {
  runId: string;
  publicRunId: string;
  accountId: string;
  flowId: string;
  stepKey: string;
  attempt: number;
  /** The browser the run asked for (chromium when it named none). */
  browser: string | undefined;
  signal: AbortSignal;
  /** Masks secret values in what is recorded. */
  redact: <T>(value: T) => T;
}

const DEFAULT_VIEWPORT: Viewport = { width: 1280, height: 800 };
/** The FlowRun-objects contract's device names for a desktop browser. */
const DEVICE_ALIASES: Record<string, string> = { 'windows 10 pc': 'Desktop Chrome', desktop: 'Desktop Chrome', 'mac os pc': 'Desktop Chrome' };
/** Longest console line kept, and most console lines and requests kept per attempt. */
const MAX_CONSOLE_TEXT = 2000;
const MAX_CONSOLE_LINES = 1000;
const MAX_REQUESTS = 2000;
const MAX_HTML_BYTES = 2 * 1024 * 1024;
/** How the browser reports a connection the proxy refused (a CONNECT answered 403, a request's connection closed). */
const REFUSED_ERRORS = /ERR_TUNNEL_CONNECTION_FAILED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_CLOSED|ERR_PROXY_CONNECTION_FAILED|ERR_CONNECTION_RESET/;
/** Schemes a page may load besides http(s): its own inline data. Everything else (file:, chrome:, view-source:, …) is refused. */
const INLINE_SCHEMES = /^(data|blob|about):/i;

/** Only http(s) URLs are loaded: anything else fails the step as an egress refusal before it is tried. */
export function assertHttpUrl(url: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new ActionFailure(`"${url}" is not an absolute URL`, EGRESS_DENIED, true);
  }
  if (protocol !== 'http:' && protocol !== 'https:') throw new ActionFailure(`loading ${protocol} URLs is not allowed: a browser loads http and https only`, EGRESS_DENIED, true);
}

const VITALS_SCRIPT = `(() => {
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

const level = (type: string): ConsoleLine['level'] =>
  type === 'error' || type === 'assert' ? 'error' : type === 'warning' ? 'warn' : type === 'debug' || type === 'trace' ? 'debug' : 'info';

const round = (n: unknown): number | null => (typeof n === 'number' && Number.isFinite(n) ? Math.round(n * 100) / 100 : null);

class ActionFailure extends Error {
  constructor(
    message: string,
    readonly type: string | undefined,
    readonly nonRetryable: boolean,
    /** The screenshot the failing action took itself (a visual mismatch), so no other is taken. */
    readonly screenshot?: string,
  ) {
    super(message);
  }
}

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

/** One attempt of a browser or scan step. */
class PageAttempt {
  readonly actions: ActionRecord[] = [];
  readonly screenshots: BrowserDetails['screenshots'] = [];
  readonly console: ConsoleLine[] = [];
  private readonly requests: RequestRecord[] = [];
  private requestCount = 0;
  private readonly pending = new Set<Promise<void>>();
  /** Selectors of the fields a secret was typed into: masked in every screenshot of the attempt. */
  private readonly secretFields = new Set<string>();
  performance: PagePerformance | null = null;
  page!: Page;

  constructor(
    private readonly deps: BrowserRuntimeDeps,
    private readonly job: PageJob,
    private readonly proxy: EgressProxy,
    readonly browserName: BrowserName,
    readonly viewport: Viewport,
    readonly device: string | null,
    readonly timeoutMs: number,
    private readonly disableAnimations: boolean,
  ) {}

  /** Records every request of the context as it ends; a refused one with status 0 and the proxy's reason. */
  watch(context: BrowserContext): void {
    const seqs = new WeakMap<Request, number>();
    const record = (request: Request, status: number, responseSize: number, error: string | null) => {
      const started = request.timing().startTime;
      const ts = started > 0 ? new Date(started) : new Date();
      this.keepRequest({ attempt: this.job.attempt, seq: seqs.get(request) ?? ++this.requestCount, ts, method: request.method(), url: request.url(), status, resourceType: request.resourceType(), durationMs: Math.max(0, Date.now() - ts.getTime()), responseSize, error });
    };
    context.on('request', (request) => seqs.set(request, ++this.requestCount));
    context.on('requestfinished', (request) => {
      const done = (async () => {
        const res = await request.response().catch(() => null);
        const sizes = await request.sizes().catch(() => null);
        record(request, res?.status() ?? 0, sizes?.responseBodySize ?? 0, null);
      })();
      this.pending.add(done);
      void done.finally(() => this.pending.delete(done));
    });
    context.on('requestfailed', (request) => {
      const text = request.failure()?.errorText ?? 'failed';
      const refused = REFUSED_ERRORS.test(text) ? this.proxy.refusalOf(request.url()) : undefined;
      record(request, 0, 0, refused ? refused.reason : text);
    });
  }

  /** Keeps a request's record, up to MAX_REQUESTS an attempt. */
  private keepRequest(r: RequestRecord): void {
    if (this.requests.length < MAX_REQUESTS) this.requests.push(r);
  }

  /** Records a page's WebSockets too (a refused one with the proxy's reason). */
  watchSockets(page: Page): void {
    page.on('websocket', (ws) => {
      const started = new Date();
      const seq = ++this.requestCount;
      let error: string | null = null;
      ws.on('socketerror', (e) => (error = this.proxy.refusalOf(ws.url())?.reason ?? e));
      ws.on('close', () => {
        this.keepRequest({ attempt: this.job.attempt, seq, ts: started, method: 'GET', url: ws.url(), status: error ? 0 : 101, resourceType: 'websocket', durationMs: Date.now() - started.getTime(), responseSize: 0, error });
      });
    });
  }

  listen(page: Page): void {
    this.page = page;
    page.on('console', (m) => {
      if (this.console.length >= MAX_CONSOLE_LINES) return;
      const loc = m.location();
      this.console.push({ ts: new Date().toISOString(), level: level(m.type()), text: m.text().slice(0, MAX_CONSOLE_TEXT), location: loc.url ? `${loc.url}:${loc.lineNumber + 1}:${loc.columnNumber + 1}` : null });
    });
    page.on('pageerror', (err) => {
      if (this.console.length < MAX_CONSOLE_LINES) this.console.push({ ts: new Date().toISOString(), level: 'error', text: `Uncaught ${err.message}`.slice(0, MAX_CONSOLE_TEXT), location: null });
    });
  }

  /** Runs one action, recording it; a failure is recorded (with a screenshot) and thrown. */
  async step(action: BrowserAction | { action: 'load'; url: string }, body: () => Promise<string | null | void>): Promise<void> {
    const index = this.actions.length;
    const rec: ActionRecord = {
      index,
      action: action.action,
      selector: 'selector' in action && action.selector !== undefined ? action.selector : null,
      status: 'succeeded',
      started_at: new Date().toISOString(),
      finished_at: null,
      duration_ms: null,
      error: null,
      screenshot: null,
    };
    this.actions.push(rec);
    const t0 = Date.now();
    const refusalsBefore = this.proxy.refusals.length;
    try {
      const shot = await body();
      if (shot) rec.screenshot = shot;
    } catch (err) {
      rec.status = 'failed';
      const navigated = action.action === 'load' || action.action === 'goto' ? action.url : undefined;
      const deniedReason = navigated && REFUSED_ERRORS.test(String((err as Error)?.message)) ? this.refusedSince(refusalsBefore, navigated) : undefined;
      const failure =
        err instanceof ActionFailure
          ? err
          : deniedReason
            ? new ActionFailure(`loading ${navigated} refused: ${deniedReason}`, EGRESS_DENIED, true)
            : new ActionFailure((err as Error).message.split('\n')[0] ?? String(err), undefined, false);
      rec.error = this.job.redact(failure.message);
      if (failure.screenshot) rec.screenshot = failure.screenshot;
      else if (!this.job.signal.aborted) rec.screenshot = await this.screenshot(`failure-${index}`, { fullPage: false }).then((s) => s.name, () => null);
      throw failure;
    } finally {
      rec.finished_at = new Date().toISOString();
      rec.duration_ms = Date.now() - t0;
    }
  }

  /** The refusal that failed a navigation to `url`: its own host's, else the last one since the action began (a redirect hop's). */
  private refusedSince(from: number, url: string): string | undefined {
    const since = this.proxy.refusals.slice(from);
    const own = this.proxy.refusalOf(url);
    return (own && since.includes(own) ? own : since.at(-1))?.reason;
  }

  /** A `fill` whose value holds a secret: its field is masked from now on. */
  typedSecret(selector: string, value: string): void {
    if (this.job.redact(value) !== value) this.secretFields.add(selector);
  }

  skipRest(actions: readonly BrowserAction[]): void {
    for (const a of actions)
      this.actions.push({ index: this.actions.length, action: a.action, selector: 'selector' in a && a.selector !== undefined ? a.selector : null, status: 'skipped', started_at: null, finished_at: null, duration_ms: null, error: null, screenshot: null });
  }

  /** Takes a screenshot into the artifact store; with `vrt`, compares it with the baseline. */
  async screenshot(name: string, o: { fullPage?: boolean; selector?: string; mask?: string[]; vrt?: { threshold: number } }): Promise<{ name: string; vrt: VrtResult | null }> {
    const options = { mask: [...(o.mask ?? []), ...this.secretFields].map((s) => this.page.locator(s)), animations: this.disableAnimations ? ('disabled' as const) : ('allow' as const), timeout: this.timeoutMs };
    const png = o.selector ? await this.page.locator(o.selector).screenshot(options) : await this.page.screenshot({ ...options, fullPage: o.fullPage ?? false });
    const size = pngSize(png);
    await this.keep(`${name}.png`, 'screenshot', png, { ...size, browser: this.browserName, viewport: this.viewportKey(), flowId: this.job.flowId });
    const vrt = o.vrt ? await this.compare(name, png, size, o.vrt.threshold) : null;
    const again = this.screenshots.findIndex((s) => s.name === name);
    if (again >= 0) this.screenshots.splice(again, 1);
    this.screenshots.push({ name, ...size, vrt });
    return { name, vrt };
  }

  viewportKey(): string {
    return `${this.viewport.width}x${this.viewport.height}`;
  }

  /** Keeps a file of the step and lists it for the run. */
  async keep(name: string, kind: ArtifactKind, data: Buffer, meta: Record<string, unknown> = {}): Promise<void> {
    await this.deps.recorder.keep(this.job, { name, kind, data, meta });
  }

  /** The public URL of one of the step's files. */
  url(name: string): string {
    return `${this.deps.publicUrl}/api/v1/runs/${encodeURIComponent(this.job.publicRunId)}/artifacts/screenshots/${encodeURIComponent(this.job.stepKey)}/${encodeURIComponent(name)}`;
  }

  private async compare(name: string, png: Buffer, size: { width: number; height: number }, threshold: number): Promise<VrtResult> {
    const key: BaselineKey = { accountId: this.job.accountId, flowId: this.job.flowId, stepId: this.job.stepKey, name, browser: this.browserName, viewport: this.viewportKey() };
    const baseline = await this.deps.recorder.baseline(key);
    if (!baseline) {
      await this.deps.recorder.setBaseline(key, png, size, this.job.publicRunId);
      return { similarity: 100, threshold, passed: true, baseline_run_id: this.job.publicRunId, diff: null };
    }
    const { similarity, diff } = compareScreenshots(baseline.png, png);
    const diffName = `${name}.diff.png`;
    await this.keep(diffName, 'diff', diff, { similarity, baselineRunId: baseline.runId });
    return { similarity, threshold, passed: similarity >= threshold, baseline_run_id: baseline.runId, diff: diffName };
  }

  /** Web vitals, timings, JS heap and (Chromium) CPU time of the page as it is now. */
  async measure(context: BrowserContext): Promise<void> {
    const page = this.page;
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
    if (engineOf(this.browserName) === 'chromium') {
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
    this.performance = {
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

  /** Writes what the attempt did: requests, console lines, details. Runs whether it passed or not. */
  async flush(version: string): Promise<void> {
    const { stepKey, attempt, redact } = this.job;
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => setTimeout(r, 2000))]);
    const lines: LogLine[] = this.console.map((c, i) => ({
      key: `step.${stepKey}.attempt.${attempt}.console.${i}`,
      level: c.level,
      stepId: stepKey,
      message: redact(c.location ? `${c.text} (${c.location})` : c.text),
      ts: new Date(c.ts),
      source: 'console',
    }));
    const details: BrowserDetails = {
      browser: { name: this.browserName, engine: engineOf(this.browserName), version },
      viewport: this.viewport,
      device: this.device,
      attempt,
      actions: this.actions,
      screenshots: this.screenshots,
      performance: this.performance,
    };
    await this.deps.recorder.flush(this.job, {
      requests: this.requests.map((r) => ({ ...r, url: redact(r.url), error: redact(r.error) })),
      lines,
      details: redact(details),
    });
  }
}

export function createBrowserRuntime(deps: BrowserRuntimeDeps, job: PageJob): BrowserRuntime {
  /** Sets up a context for the step's page options and runs `fn` in it; details are written whatever happens. */
  async function withPage<T>(
    o: { url: string; viewport?: Viewport; device?: string; disableAnimations?: boolean; timeoutMs?: number },
    fn: (a: PageAttempt, context: BrowserContext, proxy: EgressProxy) => Promise<T>,
  ): Promise<T> {
    const browserName = job.browser ? normalizeBrowser(job.browser) : 'chromium';
    if (!browserName) throw ApplicationFailure.nonRetryable(`unknown browser ${job.browser}`, BROWSER_UNAVAILABLE);
    const engine = engineOf(browserName);
    if (engine === 'firefox' && !deps.pool.paths.firefoxPath)
      throw ApplicationFailure.nonRetryable('browser firefox is not available on this worker (FIREFOX_PATH is not set); no other browser is substituted', BROWSER_UNAVAILABLE);
    let preset: BrowserContextOptions = {};
    let deviceName: string | null = null;
    if (o.device) {
      deviceName = DEVICE_ALIASES[o.device.toLowerCase()] ?? o.device;
      const d = (await playwright()).devices[deviceName];
      if (!d) throw ApplicationFailure.nonRetryable(`unknown device "${o.device}": a Playwright device name such as "Desktop Chrome", "iPhone 13" or "Pixel 7"`, BROWSER_UNAVAILABLE);
      // A device's engine is the run's browser, not the one the preset was recorded with.
      const { defaultBrowserType: _b, ...rest } = d;
      preset = engine === 'firefox' ? { ...rest, isMobile: undefined } : rest;
    }
    const viewport = o.viewport ?? preset.viewport ?? DEFAULT_VIEWPORT;
    const timeoutMs = o.timeoutMs ?? DEFAULT_BROWSER_TIMEOUT_MS;
    const options: BrowserContextOptions = {
      ...preset,
      viewport,
      serviceWorkers: 'block',
      ...(o.disableAnimations ? { reducedMotion: 'reduce' as const } : {}),
    };
    return deps.pool.withContext(engine, options, job.signal, async ({ context, browser, proxy }) => {
      const a = new PageAttempt(deps, job, proxy, browserName, viewport, deviceName, timeoutMs, o.disableAnimations ?? false);
      // The proxy carries every connection; what never reaches it (file:, chrome:, …) is refused here.
      await context.route((u) => u.protocol !== 'http:' && u.protocol !== 'https:' && !INLINE_SCHEMES.test(u.href), (route) => route.abort('accessdenied'));
      a.watch(context);
      await context.addInitScript(VITALS_SCRIPT);
      const page = await context.newPage();
      a.watchSockets(page);
      page.setDefaultTimeout(timeoutMs);
      page.setDefaultNavigationTimeout(timeoutMs);
      a.listen(page);
      try {
        return await fn(a, context, proxy);
      } catch (err) {
        if (job.signal.aborted) throw err;
        if (a.performance === null) await a.measure(context).catch(() => undefined);
        if (err instanceof ActionFailure)
          throw err.nonRetryable ? ApplicationFailure.nonRetryable(err.message, err.type) : ApplicationFailure.retryable(err.message, err.type ?? 'BrowserActionFailed');
        throw err;
      } finally {
        await a.flush(browser.version()).catch(() => undefined);
      }
    });
  }

  const load = (a: PageAttempt, url: string) =>
    a.step({ action: 'load', url }, async () => {
      assertHttpUrl(url);
      await a.page.goto(url, { waitUntil: 'load' });
    });

  return {
    async browse(c: BrowserConfig): Promise<BrowserOutput> {
      return withPage(c, async (a, context) => {
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
      return withPage(c, async (a, context, proxy) => {
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

const expectation = (what: string, expected: unknown, actual: unknown) =>
  new ActionFailure(`expected ${what} ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`, EXPECTATION_FAILED, true);

/** Performs one action; answers the name of the screenshot it took, if any. */
async function perform(a: PageAttempt, action: BrowserAction, extracted: Record<string, string | null>, taken: string[]): Promise<string | void> {
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
