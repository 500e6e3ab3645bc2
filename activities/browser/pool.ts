/**
 * Browsers for step attempts. Every attempt gets a browser process of its own, behind an egress
 * proxy of its own (egress-proxy.ts), both closed when the attempt ends: no process, cache or
 * renderer is ever shared by two attempts, let alone two accounts. At most `concurrency`
 * attempts at once per worker (FLOWRUNS_BROWSER_CONCURRENCY); the others wait their turn.
 * That costs about 0.2 s an attempt over a context of a shared browser (README, security model).
 */
import type { Browser, BrowserContext, BrowserContextOptions } from 'playwright-core';
import type { EgressPolicy } from '../egress';
import { startEgressProxy, type EgressProxy } from './egress-proxy';
import { launchEngine, type Engine, type EnginePaths } from './engines';

/** What one attempt's browser may receive in all: twenty http-step bodies (100 MiB by default). */
const browserMaxBytes = (httpMaxBodyBytes: number): number => 20 * httpMaxBodyBytes;

/** The settings a pool is built from: a worker's or an agent's configuration. */
export interface BrowserSettings {
  chromiumPath?: string;
  firefoxPath?: string;
  browserSandboxOff: boolean;
  browserConcurrency: number;
  httpMaxBodyBytes: number;
}

export interface BrowserEgress {
  policy: EgressPolicy;
  /** Bytes one attempt's browser may receive in all. */
  maxBytes: number;
}

/** What an attempt is given: its context, its browser and the proxy every connection of it passes. */
export interface AttemptBrowser {
  context: BrowserContext;
  browser: Browser;
  proxy: EgressProxy;
}

export class BrowserPool {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  private readonly live = new Set<Browser>();

  constructor(
    readonly paths: EnginePaths,
    private readonly concurrency: number,
    readonly egress: BrowserEgress,
  ) {}

  /** Runs `fn` in a fresh browser of `engine`; it is closed when `fn` ends or `signal` aborts. */
  async withContext<T>(engine: Engine, options: BrowserContextOptions, signal: AbortSignal, fn: (attempt: AttemptBrowser) => Promise<T>): Promise<T> {
    await this.acquire(signal);
    let proxy: EgressProxy | undefined;
    let browser: Browser | undefined;
    const close = () => void browser?.close().catch(() => undefined);
    try {
      proxy = await startEgressProxy({ policy: this.egress.policy, maxBytes: this.egress.maxBytes });
      browser = await launchEngine(engine, this.paths, proxy.url);
      this.live.add(browser);
      signal.addEventListener('abort', close, { once: true });
      const context = await browser.newContext(options);
      return await fn({ context, browser, proxy });
    } finally {
      signal.removeEventListener('abort', close);
      if (browser) {
        this.live.delete(browser);
        await browser.close().catch(() => undefined);
      }
      await proxy?.close();
      this.release();
    }
  }

  /** Closes the browsers of attempts still running (a worker's shutdown). */
  async close(): Promise<void> {
    const all = [...this.live];
    this.live.clear();
    await Promise.all(all.map((b) => b.close().catch(() => undefined)));
  }

  /** A pool from a process's settings, its browsers under `policy`. */
  static from(s: BrowserSettings, policy: EgressPolicy): BrowserPool {
    return new BrowserPool({ chromiumPath: s.chromiumPath, firefoxPath: s.firefoxPath, sandboxOff: s.browserSandboxOff }, s.browserConcurrency, { policy, maxBytes: browserMaxBytes(s.httpMaxBodyBytes) });
  }

  private async acquire(signal: AbortSignal): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const turn = () => {
        signal.removeEventListener('abort', gone);
        resolve();
      };
      const gone = () => {
        this.queue.splice(this.queue.indexOf(turn), 1);
        reject(signal.reason ?? new Error('cancelled'));
      };
      this.queue.push(turn);
      signal.addEventListener('abort', gone, { once: true });
    });
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active--;
  }
}
