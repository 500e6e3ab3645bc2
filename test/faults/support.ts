/**
 * What the fault tests share: platform processes of their own (a worker, a gateway) that a test
 * can `kill -9`, flows created in bulk, and progress read straight from Postgres.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { freePort, killWhenParentDies } from '../../apps/dev/processes';
import { startEmbeddedPostgres, type RunningPostgres } from '../../apps/dev/postgres';
import { openDatabase } from '../../db/data-source';
import { LOOPBACK_ALLOW } from '../../activities/egress';
import { startStack, startWorkers, type RunningWorkers, type Stack } from '../harness';
import { startStub, type Stub } from '../stub-server';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface PlatformProcess {
  pid: number;
  output(): string;
  /** `kill -9`: no shutdown, no drain; resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Safe to call on a dead process. */
  stop(graceMs?: number): Promise<void>;
}

const ROOT = path.join(__dirname, '../..');

/**
 * `node --require tsx/cjs <entry>`: one OS process (the tsx CLI would put a second one between
 * the test and the platform, and a SIGKILL would reach only that one). It waits until `ready`
 * appears in its output, and dies with the test process if that one is killed.
 */
export async function spawnPlatform(entry: string, env: Record<string, string | undefined>, ready: RegExp, timeoutMs = 90_000): Promise<PlatformProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const retireWatchdog = killWhenParentDies(child.pid!, 'SIGTERM');
  const gone = async () => {
    await exited;
    retireWatchdog();
  };
  const deadline = Date.now() + timeoutMs;
  while (!ready.test(out)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await gone();
      throw new Error(`${entry} did not start (${child.exitCode ?? child.signalCode ?? 'timed out'}):\n${out.slice(-3000)}`);
    }
    await sleep(100);
  }
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid!,
    output: () => out,
    kill9: async () => {
      if (alive()) child.kill('SIGKILL');
      await gone();
    },
    stop: async (graceMs = 15_000) => {
      if (alive()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      await gone();
    },
  };
}

/** The environment a platform process of `stack` needs: its database, Temporal, task queue and payload keys. */
export function platformEnv(stack: Stack): Record<string, string> {
  const keys = stack.config.payloadKeys?.map((k) => `${k.id}=${k.key.toString('base64')}`).join(',');
  if (!keys) throw new Error('the test stack has no payload keys');
  return {
    DATABASE_URL: stack.config.databaseUrl!,
    TEMPORAL_ADDRESS: stack.config.temporalAddress,
    TEMPORAL_NAMESPACE: stack.config.namespace,
    TASK_QUEUE: stack.taskQueue,
    FLOWRUNS_PAYLOAD_KEYS: keys,
    FLOWRUNS_EGRESS_ALLOW: LOOPBACK_ALLOW.join(','),
    LOG_LEVEL: 'WARN',
  };
}

/** A platform worker (`apps/worker/main.ts`) polling the stack's task queue, in a process of its own. */
export function spawnWorker(stack: Stack, env: Record<string, string> = {}): Promise<PlatformProcess> {
  return spawnPlatform('apps/worker/main.ts', { ...platformEnv(stack), ...env }, /worker \S+ polling/);
}

/** A gateway (`apps/gateway/main.ts`) on `port` over the stack's database and Temporal, in a process of its own. */
export function spawnGateway(stack: Stack, port: number, env: Record<string, string> = {}): Promise<PlatformProcess> {
  return spawnPlatform(
    'apps/gateway/main.ts',
    { ...platformEnv(stack), PORT: String(port), HOST: '127.0.0.1', FLOWRUNS_ADMIN_KEY: stack.adminKey, FLOWRUNS_RATE_LIMIT_PER_MINUTE: '0', ...env },
    /\[gateway\] listening on/,
  );
}

/** Runs `fn` over `items`, at most `concurrency` at a time. */
export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

/**
 * `n` distinct flow ids of two characters. The trigger takes each flow id once, so a batch of n
 * runs of distinct flows needs n flows. (Short ids once kept the batch's `FlowId` search attribute
 * under Temporal's 2048 bytes; it now holds as many ids as fit, see domain/batch-plan.ts.)
 */
export function shortFlowIds(n: number): string[] {
  if (n > 36 * 36) throw new Error(`at most ${36 * 36} two-character ids`);
  return Array.from({ length: n }, (_, i) => i.toString(36).padStart(2, '0'));
}

/** Creates a flow for each id, its definition `make(i)`. */
export async function createFlows(stack: Stack, key: string, ids: string[], make: (i: number) => { steps: unknown[] }): Promise<void> {
  await pool(ids, 8, async (id, i) => {
    const res = await stack.call('POST', '/api/v1/flows', { id, name: id, ...make(i) }, key);
    if (res.status !== 201) throw new Error(`creating flow ${id} answered ${res.status}: ${JSON.stringify(res.body)}`);
  });
}

/**
 * `n` flows, flow i calling the stub's `/item/<i>` then shaping its answer, and one batch running
 * them all (`max_parallel` 20); answers the flow ids and the batch id.
 */
export async function startItemBatch(stack: Stack, key: string, appId: string, stubUrl: string, n: number): Promise<{ flowIds: string[]; batchId: string }> {
  const flowIds = shortFlowIds(n);
  await createFlows(stack, key, flowIds, (i) => ({
    steps: [
      { id: 'call', type: 'http', config: { url: `${stubUrl}/item/${i}` } },
      { id: 'shape', type: 'transform', config: { expression: "{ 'status': steps.call.output.status }" } },
    ],
  }));
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: flowIds, max_parallel: 20 }, key);
  if (t.status !== 200) throw new Error(`the trigger answered ${t.status}: ${JSON.stringify(t.body)}`);
  return { flowIds, batchId: t.body.batch_id as string };
}

/** Runs of a batch by status, from Postgres. */
export async function runStatuses(ds: DataSource, batchId: string): Promise<Record<string, number>> {
  const rows: { status: string; n: string }[] = await ds.query('SELECT status, count(*) AS n FROM runs WHERE batch_id = $1 GROUP BY status', [batchId]);
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'timed_out'];

/** Polls Postgres until every run of the batch has ended (or `timeoutMs` passes); answers the counts by status. */
export async function waitForBatch(ds: DataSource, batchId: string, total: number, timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await runStatuses(ds, batchId);
    const ended = TERMINAL.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
    if (ended >= total || Date.now() > deadline) return counts;
    await sleep(500);
  }
}

/** Waits until at least `n` runs of the batch succeeded; answers how many had. */
export async function waitForSucceeded(ds: DataSource, batchId: string, n: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = (await runStatuses(ds, batchId)).succeeded ?? 0;
    if (done >= n) return done;
    if (Date.now() > deadline) throw new Error(`only ${done} runs of batch ${batchId} succeeded within ${timeoutMs}ms (waiting for ${n})`);
    await sleep(200);
  }
}

/** A stack and its workers on an embedded Postgres the test owns (so it may stop or freeze it), a slow stub, an account and an app. */
export interface OwnPostgresStack {
  /** The test's scratch directory; the Postgres data is in `<dir>/pg`. */
  dir: string;
  /** Undefined while the test has it stopped. */
  pg: RunningPostgres | undefined;
  stack: Stack;
  stub: Stub;
  key: string;
  appId: string;
  /** Starts the Postgres again on its directory and port. */
  startPostgres(): Promise<RunningPostgres>;
  stop(): Promise<void>;
}

export async function startOnOwnPostgres(name: string, stubDelayMs: number): Promise<OwnPostgresStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `flowruns-${name}-`));
  const port = await freePort();
  let workerDb: DataSource | undefined;
  let workers: RunningWorkers | undefined;
  const own: Partial<OwnPostgresStack> & Pick<OwnPostgresStack, 'dir' | 'startPostgres' | 'stop'> = {
    dir,
    startPostgres: () => startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port, database: 'flowruns', logFile: path.join(dir, 'postgres.log') }),
    async stop() {
      await workers?.stop();
      await workerDb?.destroy().catch(() => undefined);
      await own.stub?.close();
      await own.stack?.stop().catch(() => undefined);
      await own.pg?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    own.pg = await own.startPostgres();
    own.stack = await startStack({ env: { DATABASE_URL: own.pg.url } });
    workerDb = await openDatabase(own.pg.url, { poolSize: 10 });
    workers = await startWorkers({ config: own.stack.config, dataSource: workerDb });
    own.stub = await startStub(() => ({ body: { ok: true }, delayMs: stubDelayMs }));
    ({ apiKey: own.key } = await own.stack.newAccount());
    own.appId = (await own.stack.call('POST', '/api/v1/apps', { name, platform: 'web', baseUrl: own.stub.url }, own.key)).body.id;
    return own as OwnPostgresStack;
  } catch (err) {
    await own.stop();
    throw err;
  }
}
