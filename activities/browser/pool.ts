/**
 * One browser per engine per worker process, launched on first use and again if it dies; each
 * attempt gets a fresh context (cookies, storage and cache of its own), always closed; at most
 * `concurrency` contexts at once (FLOWRUNS_BROWSER_CONCURRENCY), the others wait their turn.
 */
import type { Browser, BrowserContext, BrowserContextOptions } from 'playwright-core';
import { launchEngine, type Engine, type EnginePaths } from './engines';

export class BrowserPool {
  private readonly browsers = new Map<Engine, Promise<Browser>>();
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    readonly paths: EnginePaths,
    private readonly concurrency: number,
  ) {}

  /** Runs `fn` in a fresh context of `engine`; the context is closed when `fn` ends or `signal` aborts. */
  async withContext<T>(engine: Engine, options: BrowserContextOptions, signal: AbortSignal, fn: (context: BrowserContext, browser: Browser) => Promise<T>): Promise<T> {
    await this.acquire(signal);
    try {
      const browser = await this.browser(engine);
      const context = await browser.newContext(options);
      const close = () => void context.close().catch(() => undefined);
      signal.addEventListener('abort', close, { once: true });
      try {
        return await fn(context, browser);
      } finally {
        signal.removeEventListener('abort', close);
        await context.close().catch(() => undefined);
      }
    } finally {
      this.release();
    }
  }

  async close(): Promise<void> {
    const all = [...this.browsers.values()];
    this.browsers.clear();
    for (const b of all) await (await b.catch(() => null))?.close().catch(() => undefined);
  }

  private browser(engine: Engine): Promise<Browser> {
    let b = this.browsers.get(engine);
    if (!b) {
      b = launchEngine(engine, this.paths);
      this.browsers.set(engine, b);
      const forget = () => {
        if (this.browsers.get(engine) === b) this.browsers.delete(engine);
      };
      b.then((browser) => browser.on('disconnected', forget), forget);
    }
    return b;
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
