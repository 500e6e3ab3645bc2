/**
 * The local Temporal dev server: finding (or building) the `temporal` CLI, starting
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

/** Where `go install` puts the CLI; a binary found here is reused as is. */
export function cachedBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal');
}

/**
 * Holds `lockFile` while `fn` runs, so two processes (two jest runs, `npm run dev` beside
 * `npm test`) never build at once. A lock left by a dead process is taken over.
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
      if (!announced) log(`waiting for pid ${holder}, which is building the Temporal CLI`);
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

/** Builds the CLI into a scratch GOBIN and renames it into place: an interrupted build leaves no half binary. */
async function buildWithGo(go: string, env: NodeJS.ProcessEnv, log: (m: string) => void): Promise<string> {
  const target = cachedBinaryPath(env);
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  return withLock(path.join(dir, '.build.lock'), log, async () => {
    if (isExecutable(target)) return target;
    log(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} with \`go install ${GO_PACKAGE}\` into ${dir} (takes a few minutes the first time, reused afterwards)`);
    const scratch = fs.mkdtempSync(path.join(dir, '.build-'));
    try {
      const started = Date.now();
      await run(go, ['install', GO_PACKAGE], { cwd: scratch, env: { ...env, GOBIN: scratch }, logFile: path.join(dir, 'build.log') });
      fs.renameSync(path.join(scratch, 'temporal'), target);
      log(`built ${target} in ${Math.round((Date.now() - started) / 1000)}s`);
      return target;
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
}

/**
 * Last resort, for a machine without Go: the SDK's own mechanism, which downloads the dev server
 * (`cached-download`) when starting a local test environment. The environment is started once and
 * torn down; the binary it left in the download directory is used from then on.
 */
async function downloadWithSdk(env: NodeJS.ProcessEnv, log: (m: string) => void): Promise<string> {
  const downloadDir = path.join(cacheDir(env), 'sdk-download');
  const find = (): string | undefined =>
    fs.existsSync(downloadDir)
      ? fs
          .readdirSync(downloadDir)
          .filter((name) => name.startsWith('temporal'))
          .map((name) => path.join(downloadDir, name))
          .filter(isExecutable)
          .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0]
      : undefined;
  const cached = find();
  if (cached) return cached;
  fs.mkdirSync(downloadDir, { recursive: true });
  log(`neither TEMPORAL_CLI_PATH, \`temporal\` on PATH nor Go found: downloading the dev server through the Temporal SDK into ${downloadDir}`);
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const testEnv = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'cached-download', downloadDir }, ip: '127.0.0.1', ui: false },
  });
  await testEnv.teardown();
  const downloaded = find();
  if (!downloaded) throw new Error(`the Temporal SDK download left no binary in ${downloadDir}`);
  return downloaded;
}

/**
 * The `temporal` CLI to run: `TEMPORAL_CLI_PATH`, else `temporal` on PATH, else the cached
 * `go install` build (built now when Go is present), else the SDK's download.
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
  const go = findOnPath('go', env);
  if (go) return buildWithGo(go, env, log);
  return downloadWithSdk(env, log);
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
