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
  /** FLOWRUNS_BROWSER_SANDBOX=off. */
  sandboxOff?: boolean;
}

/** Flags that keep a headless Chromium from calling home on a machine with a closed network. */
const QUIET = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--no-pings', '--disable-domain-reliability'];
/**
 * No path out but the egress proxy: WebRTC may not open UDP of its own (it would go around the proxy),
 * and the browser resolves no host name itself (it sends names to the proxy).
 */
const CONFINED = ['--force-webrtc-ip-handling-policy=disable_non_proxied_udp', '--webrtc-ip-handling-policy=disable_non_proxied_udp', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'];
/**
 * The packaged Chromium's own flags that are kept: rendering (software GL, fonts, cache size).
 * Everything else it carries for AWS Lambda is dropped — among them `--disable-web-security`,
 * `--disable-site-isolation-trials`, `--allow-running-insecure-content`, SharedArrayBuffer without
 * isolation, `--single-process` and `--no-sandbox` (added back only where the sandbox cannot run).
 */
const PACKAGED_KEPT = /^--(font-render-hinting|ignore-gpu-blocklist|in-process-gpu|use-gl|use-angle|enable-unsafe-swiftshader|disk-cache-size|no-default-browser-check|disable-print-preview|ash-no-nudges)(=|$)/;

/**
 * Chromium's sandbox cannot start as root; elsewhere it is on unless `sandboxOff`
 * (FLOWRUNS_BROWSER_SANDBOX=off: a container without user namespaces). The Docker image runs as a
 * non-root user for this.
 */
export function sandboxFlags(sandboxOff = false, uid = process.getuid?.() ?? 0): string[] {
  return uid === 0 || sandboxOff ? ['--no-sandbox'] : [];
}

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
  const own = [...QUIET, ...CONFINED, ...sandboxFlags(paths.sandboxOff)];
  if (paths.chromiumPath) return { path: paths.chromiumPath, args: ['--disable-gpu', ...own] };
  const p = await packagedChromium();
  return { path: p.path, args: [...p.args.filter((a) => PACKAGED_KEPT.test(a)), ...own] };
}

/** Playwright, loaded on the first browser step: a worker that runs none does not carry it (about 65 MB). */
export const playwright = (): Promise<typeof Playwright> => import('playwright-core');

/** Launches `engine` with every connection through the egress proxy at `proxyUrl`, loopback included. */
export async function launchEngine(engine: Engine, paths: EnginePaths, proxyUrl: string): Promise<Browser> {
  const { chromium, firefox } = await playwright();
  // Playwright adds `<-loopback>` to the bypass list, so loopback goes through the proxy too.
  const proxy = { server: proxyUrl };
  if (engine === 'firefox') {
    if (!paths.firefoxPath) throw new Error('no Firefox on this worker: set FIREFOX_PATH to a Playwright-compatible Firefox');
    return firefox.launch({ executablePath: paths.firefoxPath, headless: true, proxy, firefoxUserPrefs: { 'network.proxy.allow_hijacking_localhost': true, 'media.peerconnection.enabled': false } });
  }
  const exe = await chromiumExecutable(paths);
  const options = { executablePath: exe.path, args: exe.args, headless: true, proxy, chromiumSandbox: !exe.args.includes('--no-sandbox') };
  // A start that crashes (seen under load, SIGSEGV before the first page) is tried once more: it is not the step's fault.
  return chromium
    .launch(options)
    .catch(() => chromium.launch(options))
    .catch((err: Error) => {
      if (/no usable sandbox/i.test(err.message))
        throw new Error('Chromium could not start its sandbox (no user namespaces here): allow them to the worker (a container: a seccomp profile that permits them), or set FLOWRUNS_BROWSER_SANDBOX=off');
      throw err;
    });
}
