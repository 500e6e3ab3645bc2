/**
 * The local Temporal dev server: finding (downloading, or building) the `temporal` CLI, starting
 * `temporal server start-dev` with the platform's search attributes, and registering those
 * attributes on a server someone else runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import Long from 'long';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { freePort, isAlive, isOrphan, portInUse, processInfo, sleep, supervise, tail, waitForExit } from './processes';

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
async function withLock<T>(lockFile: string, log: (m: string) => void, fn: () => Promise<T>): Promise<T> {
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

async function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string }): Promise<void> {
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

export interface DevServerOptions {
  binary: string;
  /** gRPC port; 0 picks a free one. */
  port: number;
  /** Web UI port; 0 picks a free one. Ignored when headless. */
  uiPort?: number;
  headless?: boolean;
  /** SQLite file that keeps workflows across restarts; in memory when absent. */
  dbFile?: string;
  namespace: string;
  /** Server output goes here; discarded when absent. */
  logFile?: string;
  /** How long to wait for the frontend to answer. */
  startTimeoutMs?: number;
  /** The UI's remote codec (the gateway's `/api/v1/codec`), so it can offer to decode payloads. Ignored when headless. */
  codecEndpoint?: string;
  /** How long the namespace keeps closed workflows' histories; the server's default when absent. */
  retentionDays?: number;
}

export interface RunningDevServer {
  address: string;
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * A dev server left running on `dbFile` by a killed parent would hold the port and the SQLite
 * file forever; one whose parent is no longer a Node process is stopped. Linux only (`/proc`).
 */
async function stopOrphanedServer(dbFile: string): Promise<void> {
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return;
  }
  for (const pid of pids.map(Number)) {
    const args = processInfo(pid)?.args ?? [];
    if (!args.includes('start-dev') || !args.includes(dbFile) || !isOrphan(pid)) continue;
    process.kill(pid, 'SIGTERM');
    if (!(await waitForExit(pid, 10_000))) process.kill(pid, 'SIGKILL');
  }
}

/**
 * Dynamic config of the dev server this project starts. The dev server runs one history shard,
 * so its shard-level events cache (512 KiB by default, a cluster has one per shard) is all it has:
 * the platform's events carry its definitions and step results, and a fan-out of a thousand
 * runs overflows it, so the server reads back from SQLite every event it needs to start a child
 * or hand out an activity. 16 MiB holds them, as a production cluster's many shards do.
 */
const DEV_DYNAMIC_CONFIG: Record<string, unknown> = {
  'history.eventsCacheMaxSizeBytes': 16 * 1024 * 1024,
};

/**
 * Runs `temporal server start-dev` on 127.0.0.1 with the platform's search attributes and waits
 * until its frontend answers. The child gets its own process group so a terminal's Ctrl-C reaches
 * only the parent, which then stops things in order.
 */
export async function startTemporalDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  const port = options.port || (await freePort());
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(path.resolve(options.dbFile)), { recursive: true });
    await stopOrphanedServer(path.resolve(options.dbFile));
  }
  if (await portInUse(port)) {
    throw new Error(`port ${port} on 127.0.0.1 is already in use: is another \`npm run dev\` or Temporal server running? Set TEMPORAL_ADDRESS to use it`);
  }
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-format', 'json'];
  let uiUrl: string | undefined;
  if (options.headless) {
    args.push('--headless');
  } else {
    const uiPort = options.uiPort || (await freePort());
    args.push('--ui-port', String(uiPort));
    if (options.codecEndpoint) args.push('--ui-codec-endpoint', options.codecEndpoint);
    uiUrl = `http://127.0.0.1:${uiPort}`;
  }
  if (options.dbFile) args.push('--db-filename', path.resolve(options.dbFile));
  if (options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const { name, type } of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${name}=${type}`);
  for (const [key, value] of Object.entries(DEV_DYNAMIC_CONFIG)) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);

  let log: number | 'ignore' = 'ignore';
  if (options.logFile) {
    fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
    log = fs.openSync(options.logFile, 'a');
  }
  let child: ChildProcess;
  try {
    child = spawn(options.binary, args, { stdio: ['ignore', log, log], detached: true });
  } finally {
    if (typeof log === 'number') fs.closeSync(log);
  }
  const server = supervise(child, 'SIGTERM', 15_000);

  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (server.exited() || Date.now() > deadline) {
      server.abort();
      throw new Error(
        `Temporal dev server (${options.binary}) ${server.exited() ?? 'did not answer in time'} on ${address}; last log lines (${options.logFile ?? 'not logged'}):\n${tail(options.logFile)}`,
      );
    }
    if (await answers(address, options.namespace)) break;
    await sleep(200);
  }
  if (options.retentionDays) await setRetention(address, options.namespace, options.retentionDays);

  return { address, uiUrl, pid: child.pid ?? -1, stop: server.stop };
}

/** Sets the namespace's history retention, to match the platform's own (GET /api/v1/settings). */
async function setRetention(address: string, namespace: string, days: number): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: { seconds: Long.fromNumber(days * 86_400) } } });
  } finally {
    await connection.close();
  }
}

async function answers(address: string, namespace: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1_000 });
    await connection.workflowService.getSystemInfo({});
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
