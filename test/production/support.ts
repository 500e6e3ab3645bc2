/**
 * The production shape, started for test/production: the real Temporal server on Postgres with TLS
 * (apps/dev/temporal-server.ts), two gateways and two workers from `npm run build`'s output
 * (`node dist/apps/...`) with the TEMPORAL_* variables an operator sets, a fresh app database on
 * the machine's Postgres, and a loopback stub for the flows' HTTP steps.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { killWhenParentDies, portInUse } from '../../apps/dev/processes';
import { startTemporalServer, type RunningTemporalServer } from '../../apps/dev/temporal-server';
import { LOOPBACK_ALLOW } from '../../activities/egress';
import { startStub, type Stub } from '../stub-server';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ROOT = path.join(__dirname, '../..');
export const ADMIN_URL = process.env.FLOWRUNS_PRODUCTION_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** `npm run build` when dist/ is missing or older than a source file it is built from. */
export function ensureBuild(): void {
  const built = path.join(ROOT, 'dist/apps/gateway/main.js');
  const newest = (dir: string): number => {
    let t = 0;
    for (const e of fs.readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.ts')) t = Math.max(t, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs);
    }
    return t;
  };
  const sources = Math.max(...['apps/gateway', 'apps/worker', 'platform', 'workflows', 'activities', 'domain', 'db', 'steps'].filter((d) => fs.existsSync(path.join(ROOT, d))).map(newest));
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= sources) return;
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}

export interface Proc {
  name: string;
  pid: number;
  output(): string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** `node dist/<entry>` with `env`, once `ready` shows in its output. */
async function spawnBuilt(name: string, entry: string, env: Record<string, string>, ready: RegExp): Promise<Proc> {
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'dist', entry)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const retire = killWhenParentDies(child.pid!, 'SIGTERM');
  const alive = () => child.exitCode === null && child.signalCode === null;
  const deadline = Date.now() + 120_000;
  while (!ready.test(out)) {
    if (!alive() || Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      retire();
      throw new Error(`${name} did not start:\n${out.slice(-3000)}`);
    }
    await sleep(100);
  }
  const end = async (signal: NodeJS.Signals) => {
    if (alive()) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    retire();
  };
  return { name, pid: child.pid!, output: () => out, kill9: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

export interface ProductionStack {
  temporal: RunningTemporalServer;
  db: PgClient;
  stub: Stub;
  adminKey: string;
  gateways: { proc: Proc; port: number; url: string }[];
  workers: Proc[];
  startGateway(i: number): Promise<void>;
  startWorker(): Promise<Proc>;
  /** JSON over HTTP to gateway `gw`. */
  call(gw: number, method: string, p: string, body?: unknown, key?: string): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

async function freeLowPort(): Promise<number> {
  for (;;) {
    const p = 33_000 + Math.floor(Math.random() * 20_000);
    if (!(await portInUse(p))) return p;
  }
}

export async function startProductionStack(options: { env?: Record<string, string> } = {}): Promise<ProductionStack> {
  ensureBuild();
  const temporal = await startTemporalServer({ adminUrl: ADMIN_URL, log: (m) => console.log(`[production] ${m}`) });
  const dbName = `flowruns_prod_${randomBytes(4).toString('hex')}`;
  const admin = new PgClient({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const adminKey = `admin-${randomBytes(16).toString('hex')}`;
  const env: Record<string, string> = {
    ...temporal.env,
    DATABASE_URL: url.toString(),
    TASK_QUEUE: `flows-prod-${randomBytes(4).toString('hex')}`,
    FLOWRUNS_PAYLOAD_KEYS: `k1=${randomBytes(32).toString('base64')}`,
    FLOWRUNS_EGRESS_ALLOW: LOOPBACK_ALLOW.join(','),
    FLOWRUNS_ADMIN_KEY: adminKey,
    FLOWRUNS_RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'WARN',
    ...options.env,
  };
  const stub = await startStub((req) => ({ body: { item: req.url }, delayMs: 20 }));
  const gateways: ProductionStack['gateways'] = [];
  const workers: Proc[] = [];
  const startGateway = async (i: number) => {
    const port = gateways[i]?.port ?? (await freeLowPort());
    const proc = await spawnBuilt(`gateway ${i}`, 'apps/gateway/main.js', { ...env, PORT: String(port), HOST: '127.0.0.1' }, /\[gateway\] listening on/);
    gateways[i] = { proc, port, url: `http://127.0.0.1:${port}` };
  };
  const startWorker = async () => {
    const w = await spawnBuilt(`worker ${workers.length}`, 'apps/worker/main.js', env, /worker \S+ polling/);
    workers.push(w);
    return w;
  };
  const db = new PgClient({ connectionString: env.DATABASE_URL });
  const stop = async () => {
    for (const p of [...gateways.map((g) => g.proc), ...workers]) await p.stop().catch(() => undefined);
    await stub.close();
    await db.end().catch(() => undefined);
    await temporal.stop();
    const a = new PgClient({ connectionString: ADMIN_URL });
    await a.connect();
    await a.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).finally(() => a.end());
  };
  try {
    await startGateway(0); // migrates the database first
    await startGateway(1);
    await startWorker();
    await startWorker();
    await db.connect();
  } catch (err) {
    await stop();
    throw err;
  }
  const call: ProductionStack['call'] = async (gw, method, p, body, key = adminKey) => {
    const res = await fetch(`${gateways[gw]!.url}${p}`, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return { temporal, db, stub, adminKey, gateways, workers, startGateway, startWorker, call, stop };
}

/** A fresh account, its key and an app, through gateway 0. */
export async function newTenant(s: ProductionStack): Promise<{ key: string; appId: string }> {
  const acc = await s.call(0, 'POST', '/api/v1/accounts', { name: `prod-${randomBytes(3).toString('hex')}` });
  if (acc.status !== 201) throw new Error(`creating an account answered ${acc.status}: ${JSON.stringify(acc.body)}`);
  const key = acc.body.apiKey as string;
  const app = await s.call(0, 'POST', '/api/v1/apps', { name: 'prod', platform: 'web', baseUrl: s.stub.url }, key);
  if (app.status !== 201) throw new Error(`creating an app answered ${app.status}: ${JSON.stringify(app.body)}`);
  return { key, appId: app.body.id as string };
}

/** Flows `prefix-<i>` calling the stub's `/<prefix>/<i>` then shaping its answer. */
export async function createFlows(s: ProductionStack, key: string, prefix: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  await pool(ids, 8, async (id, i) => {
    const flow = { id, name: id, steps: [
      { id: 'call', type: 'http', config: { url: `${s.stub.url}/${prefix}/${i}` }, retry: { maxAttempts: 4 } },
      { id: 'shape', type: 'transform', config: { expression: "{ 'item': steps.call.output.body.item }" } },
    ] };
    const res = await s.call(i % 2, 'POST', '/api/v1/flows', flow, key);
    if (res.status !== 201) throw new Error(`creating flow ${id} answered ${res.status}: ${JSON.stringify(res.body)}`);
  });
  return ids;
}

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

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'timed_out'];

/** Runs of `batchIds` by status, from Postgres. */
export async function statuses(db: PgClient, batchIds: string[]): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM runs WHERE batch_id = ANY($1) GROUP BY status', [batchIds]);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/**
 * Runs of `batchIds` in flight: granted their account's running-run slot (their workflow started) and not
 * ended. Their rows may still say `queued`: a fast step's start is written with its end.
 */
export async function inFlight(db: PgClient, batchIds: string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM run_slots s JOIN runs r ON r.id = s.run_id WHERE r.batch_id = ANY($1) AND s.granted_at IS NOT NULL AND r.status <> ALL($2)',
    [batchIds, TERMINAL],
  );
  return rows[0]?.n ?? 0;
}

/** Waits until every run of `batchIds` ended (or `timeoutMs`); answers the counts by status. */
export async function waitForEnd(db: PgClient, batchIds: string[], total: number, timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await statuses(db, batchIds);
    if (TERMINAL.reduce((n, s) => n + (counts[s] ?? 0), 0) >= total || Date.now() > deadline) return counts;
    await sleep(500);
  }
}

/** The backend pid holding the watcher's advisory lock, if any. */
export async function watcherHolder(db: PgClient): Promise<number | undefined> {
  const { rows } = await db.query<{ pid: number }>("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = 727402 AND classid = 0");
  return rows[0]?.pid;
}

/** Which gateway holds the backend `backendPid`'s connection (by its client port, through `ss`). */
export async function gatewayOfBackend(s: ProductionStack, backendPid: number): Promise<number | undefined> {
  const { rows } = await s.db.query<{ client_port: number }>('SELECT client_port FROM pg_stat_activity WHERE pid = $1', [backendPid]);
  const port = rows[0]?.client_port;
  if (!port) return undefined;
  const out = spawnSync('ss', ['-tnpH', `sport = :${port}`], { encoding: 'utf8' }).stdout;
  const owner = Number(/pid=(\d+)/.exec(out)?.[1]);
  const i = s.gateways.findIndex((g) => g.proc.pid === owner);
  return i >= 0 ? i : undefined;
}
