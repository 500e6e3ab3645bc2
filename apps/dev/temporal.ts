/**
 * The local Temporal dev server: starting `temporal server start-dev` with the platform's search
 * attributes, and registering those attributes on a server someone else runs. The CLI it runs is
 * found, downloaded or built by temporal-cli.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import Long from 'long';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { freePort, isOrphan, portInUse, processInfo, sleep, supervise, tail, waitForExit } from './processes';

export { resolveTemporalBinary, TEMPORAL_CLI_VERSION } from './temporal-cli';

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
