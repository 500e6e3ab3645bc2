/**
 * One attempt of a `browser` or `scan` step in a browser context of its own (`withPage`): the page,
 * its egress proxy (egress-proxy.ts: the egress policy and its rebinding check hold for pages as for
 * http steps; only http(s) URLs are ever loaded), and what the attempt records as it goes
 * (`PageAttempt`). Every request is kept for `network.jsonl` (a refused one with status 0 and the
 * reason); console lines go to the run log (`source: "console"`); each action is recorded with its
 * timing, error and screenshot in `step_runs.details`, also when the attempt fails; screenshots go
 * to the recorder, compared with their baseline when they ask for it.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { BrowserContext, BrowserContextOptions, Page, Request } from 'playwright-core';
import type { LogLine } from '../../db/projections';
import { normalizeBrowser, type Browser as BrowserName } from '../../domain/browser';
import { secretValuesOf } from '../../domain/secrets';
import { BROWSER_UNAVAILABLE, DEFAULT_BROWSER_TIMEOUT_MS, type ActionRecord, type BrowserAction, type BrowserDetails, type PagePerformance, type Viewport, type VrtResult } from '../../steps/browser';
import { EGRESS_DENIED } from '../../steps/http';
import type { ConsoleLine } from '../../steps/scan';
import type { RequestRecord } from '../../steps/step-type';
import type { EgressProxy } from './egress-proxy';
import { engineOf, playwright } from './engines';
import { measurePage, VITALS_SCRIPT } from './page-metrics';
import type { BrowserPool } from './pool';
import type { ArtifactKind, BaselineKey, PageRecorder } from './recorder';
import { maskTrace, startTrace, stopTrace } from './trace';
import { compareScreenshots, pngSize } from './vrt';

export interface BrowserRuntimeDeps {
  pool: BrowserPool;
  /** Where the attempt's files, baselines and records go: the platform's store and tables, or (on an agent) back to the platform. */
  recorder: PageRecorder;
  /** The gateway's public URL, for the artifact links in outputs. */
  publicUrl: string;
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

const level = (type: string): ConsoleLine['level'] =>
  type === 'error' || type === 'assert' ? 'error' : type === 'warning' ? 'warn' : type === 'debug' || type === 'trace' ? 'debug' : 'info';

/** An action that failed: its message, error type, whether a retry could help. */
export class ActionFailure extends Error {
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

/** One attempt of a browser or scan step. */
export class PageAttempt {
  readonly actions: ActionRecord[] = [];
  readonly screenshots: BrowserDetails['screenshots'] = [];
  readonly console: ConsoleLine[] = [];
  private readonly requests: RequestRecord[] = [];
  private requestCount = 0;
  private readonly pending = new Set<Promise<void>>();
  /** Selectors of the fields a secret was typed into: masked in every screenshot of the attempt. */
  private readonly secretFields = new Set<string>();
  performance: PagePerformance | null = null;
  /** The kept trace's file name. */
  private trace: string | null = null;
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
    this.performance = await measurePage(this.page, context, this.browserName);
  }

  /** Stops the attempt's trace and keeps it as `trace.zip`, every secret value masked (trace.ts). */
  async keepTrace(context: BrowserContext): Promise<void> {
    const zip = await stopTrace(context);
    if (!zip) return;
    const data = Buffer.from(maskTrace(zip, secretValuesOf(this.job.redact)));
    const kept = await this.deps.recorder.keep(this.job, { name: 'trace.zip', kind: 'trace', data, meta: { browser: this.browserName } });
    if (kept !== false) this.trace = 'trace.zip';
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
      trace: this.trace,
    };
    await this.deps.recorder.flush(this.job, {
      requests: this.requests.map((r) => ({ ...r, url: redact(r.url), error: redact(r.error) })),
      lines,
      details: redact(details),
    });
  }
}

/** Sets up a context for the step's page options and runs `fn` in it; details are written whatever happens. */
export async function withPage<T>(
  deps: BrowserRuntimeDeps,
  job: PageJob,
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
    const traced = await startTrace(context, `${job.flowId} › ${job.stepKey} (attempt ${job.attempt})`);
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
      if (traced && !job.signal.aborted) await a.keepTrace(context).catch(() => undefined);
      await a.flush(browser.version()).catch(() => undefined);
    }
  });
}
