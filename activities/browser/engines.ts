/**
 * The browsers a worker can launch. Chromium is the one inside the npm package
 * @sparticuz/chromium (no download at run time) unless CHROMIUM_PATH names another Chromium or
 * Chrome; Firefox runs only where FIREFOX_PATH names a Playwright-compatible build. `chrome`,
 * `chromium` and `edge` all run Chromium; nothing is ever substituted for Firefox.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type * as Playwright from 'playwright-core';
import type { Browser } from 'playwright-core';
import type { Browser as BrowserName } from '../../domain/browser';

export type Engine = 'chromium' | 'firefox';

export const engineOf = (browser: BrowserName): Engine => (browser === 'firefox' ? 'firefox' : 'chromium');

export interface EnginePaths {
  /** CHROMIUM_PATH: another Chromium or Chrome instead of the packaged one. */
  chromiumPath?: string;
  /** FIREFOX_PATH: a Playwright-compatible Firefox; without it `firefox` is refused. */
  firefoxPath?: string;
}

/** Flags that keep a headless Chromium from calling home on a machine with a closed network. */
const QUIET = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

let packaged: Promise<{ path: string; args: string[] }> | undefined;

/**
 * The packaged Chromium's path and flags. The package is ES modules only, which a CommonJS
 * process (and jest) cannot load, so they are read in a short node child process; the first call
 * unpacks the binary into the temp directory.
 */
export function packagedChromium(): Promise<{ path: string; args: string[] }> {
  packaged ??= (async () => {
    const script = `import('@sparticuz/chromium').then(async ({ default: c }) => console.log(JSON.stringify({ path: await c.executablePath(), args: c.args })))`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8', timeout: 120_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as { path: string; args: string[] };
  })();
  packaged.catch(() => (packaged = undefined));
  return packaged;
}

/** The Chromium executable and its flags, as lighthouse's own launch needs them too. */
export async function chromiumExecutable(paths: EnginePaths): Promise<{ path: string; args: string[] }> {
  if (paths.chromiumPath) return { path: paths.chromiumPath, args: ['--no-sandbox', '--disable-gpu', ...QUIET] };
  const p = await packagedChromium();
  // The package's flags are for one page per process (AWS Lambda); a worker opens a context per step, which `--single-process` crashes on.
  return { path: p.path, args: [...p.args.filter((a) => a !== '--single-process'), ...QUIET] };
}

/** Playwright, loaded on the first browser step: a worker that runs none does not carry it (about 65 MB). */
export const playwright = (): Promise<typeof Playwright> => import('playwright-core');

export async function launchEngine(engine: Engine, paths: EnginePaths): Promise<Browser> {
  const { chromium, firefox } = await playwright();
  if (engine === 'firefox') {
    if (!paths.firefoxPath) throw new Error('no Firefox on this worker: set FIREFOX_PATH to a Playwright-compatible Firefox');
    return firefox.launch({ executablePath: paths.firefoxPath, headless: true });
  }
  const exe = await chromiumExecutable(paths);
  return chromium.launch({ executablePath: exe.path, args: exe.args, headless: true });
}
