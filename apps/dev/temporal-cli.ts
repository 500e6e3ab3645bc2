/**
 * Obtaining the `temporal` CLI the local dev server runs: a binary already in the cache, else the
 * Temporal SDK's download (given up quickly when there is no route), else `go install` when Go is
 * there; each timed in the log, under a lock so concurrent starters wait for one another.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive, sleep, tail } from './processes';

/** The CLI release the project is tested with; the cache directory is named after it. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const GO_PACKAGE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;
const BUILD_TIMEOUT_MS = 30 * 60_000;

export interface ResolveOptions {
  /** Environment to read PATH, TEMPORAL_CLI_PATH and the cache location from. */
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
  /** How the CLI is downloaded before Go builds it; the Temporal SDK's download by default (tests pass a fake). */
  download?: CliDownload;
}

const defaultLog = (message: string): void => {
  process.stderr.write(`[temporal] ${message}\n`);
};

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** First executable named `name` on the PATH of `env`. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** `$FLOWRUNS_CACHE_DIR`, else `$XDG_CACHE_HOME/flowruns`, else `~/.cache/flowruns`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLOWRUNS_CACHE_DIR) return path.resolve(env.FLOWRUNS_CACHE_DIR);
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'flowruns');
}

/** Where the CLI is kept once downloaded or built; a binary found here is reused as is. */
export function cachedBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal');
}

/** How long the download may take to answer its first request before it counts as having no route. */
export const DOWNLOAD_PROBE_TIMEOUT_MS = 20_000;
/** The whole download (archive and a first start of the server), once it answered. */
const DOWNLOAD_TIMEOUT_MS = 5 * 60_000;

/**
 * Holds `lockFile` while `fn` runs, so two processes (two jest runs, `npm run dev` beside
 * `npm test`) never download or build at once. A lock left by a dead process is taken over.
 */
export async function withLock<T>(lockFile: string, log: (m: string) => void, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(fs.readFileSync(lockFile, 'utf8'), 10);
      if (!Number.isInteger(holder) || !isAlive(holder)) {
        fs.rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for pid ${holder} to release ${lockFile}`);
      if (!announced) log(`waiting for pid ${holder}, which is downloading or building the Temporal CLI`);
      announced = true;
      await sleep(1_000);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

export async function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string }): Promise<void> {
  const log = fs.openSync(options.logFile, 'w');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', log, log] });
      const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`${command} ${args.join(' ')} exited with ${signal ?? code}:\n${tail(options.logFile)}`));
      });
    });
  } finally {
    fs.closeSync(log);
  }
}

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)}s`;

/** Builds the CLI into a scratch GOBIN and renames it to `target`: an interrupted build leaves no half binary. */
async function buildWithGo(go: string, target: string, env: NodeJS.ProcessEnv, log: (m: string) => void): Promise<string> {
  const dir = path.dirname(target);
  log(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} with \`go install ${GO_PACKAGE}\` into ${dir} (several minutes the first time, reused afterwards)`);
  const scratch = fs.mkdtempSync(path.join(dir, '.build-'));
  try {
    const started = Date.now();
    await run(go, ['install', GO_PACKAGE], { cwd: scratch, env: { ...env, GOBIN: scratch }, logFile: path.join(dir, 'build.log') });
    fs.renameSync(path.join(scratch, 'temporal'), target);
    log(`built the Temporal CLI with go in ${seconds(started)}: ${target}`);
    return target;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** What the Temporal SDK's download asks first: where the CLI's archive for this platform is. */
export function downloadInfoUrl(version: string = TEMPORAL_CLI_VERSION): string {
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const platform = process.platform === 'darwin' ? 'darwin' : process.platform === 'win32' ? 'windows' : 'linux';
  return `https://temporal.download/cli/${version}?arch=${arch}&platform=${platform}&format=tar.gz`;
}

export interface DownloadOptions {
  /** Asked first, within `probeTimeoutMs`: no answer means no route, and the download is not tried. */
  infoUrl?: string;
  probeTimeoutMs?: number;
}

/**
 * A CLI binary for `target` obtained without building it: puts it at `target` or throws. The
 * default is {@link downloadWithSdk}; tests pass a fake.
 */
export type CliDownload = (target: string, log: (m: string) => void) => Promise<void>;

/**
 * The Temporal SDK's own download (`TestWorkflowEnvironment`'s `cached-download`, the release
 * archive from temporal.download), pinned to {@link TEMPORAL_CLI_VERSION}. The SDK's downloader
 * has no connect timeout of its own, so temporal.download is asked first with a short one: a
 * machine without a route to it fails here in at most `probeTimeoutMs` (at once when the name
 * does not resolve; behind a proxy, which Node's fetch does not use, within the whole download's
 * timeout instead). The SDK downloads into a scratch directory and starts the server once; the
 * binary is then moved to `target`.
 */
export async function downloadWithSdk(target: string, log: (m: string) => void, options: DownloadOptions = {}): Promise<void> {
  const infoUrl = options.infoUrl ?? downloadInfoUrl();
  const probeTimeoutMs = options.probeTimeoutMs ?? DOWNLOAD_PROBE_TIMEOUT_MS;
  const host = new URL(infoUrl).host;
  // Node's fetch goes direct; behind a proxy only the SDK's downloader (which honours it) can tell.
  const proxied = ['HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy'].some((name) => process.env[name]);
  if (proxied && !options.infoUrl) {
    log(`a proxy is set: skipping the ${probeTimeoutMs / 1000}s reachability check of ${host}`);
  } else {
    let res: Response;
    try {
      res = await fetch(infoUrl, { signal: AbortSignal.timeout(probeTimeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = (err as Error).name === 'TimeoutError' ? `no answer in ${probeTimeoutMs / 1000}s` : (cause?.code ?? cause?.message ?? (err as Error).message);
      throw new Error(`${host} unreachable (${why})`);
    }
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok) throw new Error(`${host} has no CLI ${TEMPORAL_CLI_VERSION} for this platform (HTTP ${res.status})`);
  }
  const downloadDir = fs.mkdtempSync(path.join(path.dirname(target), '.download-'));
  try {
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const started = TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'cached-download', downloadDir, version: TEMPORAL_CLI_VERSION }, ip: '127.0.0.1', ui: false },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the download did not finish in ${DOWNLOAD_TIMEOUT_MS / 60_000} minutes`)), DOWNLOAD_TIMEOUT_MS);
    });
    let testEnv: Awaited<typeof started>;
    try {
      testEnv = await Promise.race([started, timedOut]);
    } catch (err) {
      // A download given up on may still end: its server is stopped then.
      started.then((late) => late.teardown(), () => undefined).catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    await testEnv.teardown();
    const downloaded = fs.readdirSync(downloadDir).map((name) => path.join(downloadDir, name)).find((file) => path.basename(file).startsWith('temporal') && isExecutable(file));
    if (!downloaded) throw new Error(`the Temporal SDK download left no binary in ${downloadDir}`);
    fs.renameSync(downloaded, target);
  } finally {
    fs.rmSync(downloadDir, { recursive: true, force: true });
  }
}

/** A binary an earlier version of this file had the SDK download into `sdk-download/` (any version). */
function previousSdkDownload(env: NodeJS.ProcessEnv): string | undefined {
  const dir = path.join(cacheDir(env), 'sdk-download');
  if (!fs.existsSync(dir)) return undefined;
  return fs
    .readdirSync(dir)
    .filter((name) => name.startsWith('temporal'))
    .map((name) => path.join(dir, name))
    .filter(isExecutable)
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
}

/**
 * The CLI into the cache: downloaded when the network allows (seconds), else built with Go
 * (minutes). Says which one ran and how long it took.
 */
async function obtain(env: NodeJS.ProcessEnv, log: (m: string) => void, download: CliDownload): Promise<string> {
  const target = cachedBinaryPath(env);
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  return withLock(path.join(dir, '.build.lock'), log, async () => {
    if (isExecutable(target)) return target;
    const started = Date.now();
    log(`downloading the Temporal CLI ${TEMPORAL_CLI_VERSION} through the Temporal SDK into ${dir}`);
    let failure: string;
    try {
      await download(target, log);
      if (!isExecutable(target)) throw new Error(`no executable at ${target} after the download`);
      log(`downloaded the Temporal CLI in ${seconds(started)}: ${target}`);
      return target;
    } catch (err) {
      fs.rmSync(target, { force: true });
      failure = (err as Error).message.split('\n')[0];
    }
    const go = findOnPath('go', env);
    if (!go)
      throw new Error(
        `no Temporal CLI: the download failed after ${seconds(started)} (${failure}) and Go is not installed to build it; put \`temporal\` ${TEMPORAL_CLI_VERSION} on PATH or set TEMPORAL_CLI_PATH`,
      );
    log(`the download failed after ${seconds(started)} (${failure})`);
    return buildWithGo(go, target, env, log);
  });
}

/**
 * The `temporal` CLI to run: `TEMPORAL_CLI_PATH`, else `temporal` on PATH, else the cache; else it
 * is downloaded into the cache through the Temporal SDK, or, when the download fails, built there
 * with `go install`.
 */
export async function resolveTemporalBinary(options: ResolveOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? defaultLog;
  if (env.TEMPORAL_CLI_PATH) {
    const explicit = path.resolve(env.TEMPORAL_CLI_PATH);
    if (!isExecutable(explicit)) throw new Error(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file`);
    return explicit;
  }
  const onPath = findOnPath('temporal', env);
  if (onPath) return onPath;
  const cached = cachedBinaryPath(env);
  if (isExecutable(cached)) return cached;
  const previous = previousSdkDownload(env);
  if (previous) return previous;
  return obtain(env, log, options.download ?? ((target, l) => downloadWithSdk(target, l)));
}
