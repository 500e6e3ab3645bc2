/**
 * The real stack the benchmarks run against, started with the project's own launchers: a Temporal
 * dev server (apps/dev/temporal.ts), an embedded Postgres unless DATABASE_URL is set
 * (apps/dev/postgres.ts), a fresh migrated database, and the platform as `npm run dev` runs it —
 * gateway and worker in this process over one pool — or a worker in a process of its own.
 * Also the local stub service the benchmark flows call.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { LOOPBACK_ALLOW } from '../activities/egress';
import { loadConfig, type Config } from '../platform/config';
import { dropDatabase, ensureDatabase, startEmbeddedPostgres, withDatabase } from '../apps/dev/postgres';
import { resolveTemporalBinary, startTemporalDevServer } from '../apps/dev/temporal';
import { startGateway, type RunningGateway } from '../apps/gateway/server';
import { dataConverterFor, generatePayloadKeys } from '../platform/payload-codec';
import { tracing } from '../platform/tracing';
import { closeBrowsers, createWorkers, installRuntime } from '../apps/worker/worker';
import { openDatabase } from '../db/data-source';
import { productionWorkerLaunch } from './worker-launch';

export interface Services {
  temporalAddress: string;
  databaseUrl: string;
  tmpDir: string;
  /** Environment a platform process of this run starts with (gateway, worker, a child worker). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Temporal and Postgres for one bench run; every piece started here is stopped by `stop`. */
export async function startServices(log: (m: string) => void): Promise<Services> {
  installRuntime('WARN');
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-bench-'));
  const binary = await resolveTemporalBinary({ log });
  const [temporal, pg] = await Promise.all([
    process.env.TEMPORAL_ADDRESS
      ? Promise.resolve(undefined)
      : startTemporalDevServer({ binary, port: 0, headless: true, namespace: 'default', logFile: path.join(tmpDir, 'temporal.log') }),
    process.env.DATABASE_URL ? Promise.resolve(undefined) : startEmbeddedPostgres({ dir: path.join(tmpDir, 'pg'), port: 0, database: 'postgres', logFile: path.join(tmpDir, 'postgres.log') }),
  ]);
  const temporalAddress = process.env.TEMPORAL_ADDRESS ?? temporal!.address;
  const adminUrl = pg ? pg.adminUrl : withDatabase(process.env.DATABASE_URL!, 'postgres');
  const database = `flowruns_bench_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(adminUrl, database);
  const databaseUrl = withDatabase(adminUrl, database);
  await (await openDatabase(databaseUrl)).destroy();
  log(`Temporal ${temporalAddress}${temporal ? ' (dev server)' : ''}, Postgres ${pg ? 'embedded' : 'DATABASE_URL'} database ${database}`);
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    FLOWRUNS_PAYLOAD_KEYS: process.env.FLOWRUNS_PAYLOAD_KEYS ?? generatePayloadKeys('bench'),
    FLOWRUNS_ADMIN_KEY: `bench-admin-${randomBytes(12).toString('hex')}`,
    FLOWRUNS_DATA_DIR: path.join(tmpDir, 'data'),
    // The stub listens on 127.0.0.1, as under npm run dev.
    FLOWRUNS_EGRESS_ALLOW: LOOPBACK_ALLOW.join(','),
    // The benchmarks send far more than 1,200 requests a minute with one key.
    FLOWRUNS_RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'WARN',
    HOST: '127.0.0.1',
  };
  return {
    temporalAddress,
    databaseUrl,
    tmpDir,
    env,
    stop: async () => {
      await dropDatabase(adminUrl, database).catch(() => undefined);
      await temporal?.stop();
      await pg?.stop();
      fs.rmSync(tmpDir, { recursive: true, force: true });
    },
  };
}

export interface Platform {
  baseUrl: string;
  adminKey: string;
  config: Config;
  dataSource: DataSource;
  client: Client;
  gateway: RunningGateway;
  /** JSON over HTTP with the admin key unless `key` is given; throws on a non-2xx answer. */
  call<T = unknown>(method: string, p: string, body?: unknown, key?: string): Promise<T>;
  stop(): Promise<void>;
}

/** The gateway, and with `worker` the platform worker, in this process, as `npm run dev` runs them; on a task queue of their own. */
export async function startPlatform(services: Services, opts: { worker: boolean; taskQueue?: string }): Promise<Platform> {
  const config = loadConfig({ ...process.env, ...services.env, TASK_QUEUE: opts.taskQueue ?? `bench-${randomBytes(4).toString('hex')}`, PORT: '0' });
  const dataSource = await openDatabase(services.databaseUrl);
  const connection = await Connection.connect({ address: config.temporalAddress });
  const traced = tracing();
  const client = new Client({ connection, namespace: config.namespace, dataConverter: dataConverterFor(config.payloadKeys), ...(traced ? { interceptors: traced.clientInterceptors } : {}) });
  let stopWorkers = async (): Promise<void> => undefined;
  if (opts.worker) {
    const native = await NativeConnection.connect({ address: config.temporalAddress });
    const workers = await createWorkers({ config, dataSource, connection: native });
    const running = workers.map((w) => w.run());
    stopWorkers = async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.all(running);
      await closeBrowsers();
      await native.close();
    };
  }
  const gateway = await startGateway({ config, dataSource, client, port: 0, host: '127.0.0.1' });
  const adminKey = config.adminKey!;
  const call: Platform['call'] = async <T>(method: string, p: string, body?: unknown, key = adminKey) => {
    const res = await fetch(`${gateway.url}${p}`, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p} answered ${res.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    baseUrl: gateway.url,
    adminKey,
    config,
    dataSource,
    client,
    gateway,
    call,
    stop: async () => {
      await gateway.stop();
      await stopWorkers();
      await connection.close();
      await dataSource.destroy();
    },
  };
}

export interface ChildWorker {
  pid: number;
  stop(): Promise<void>;
}

/**
 * The platform's code compiled as \`npm run build\` compiles it, into .scratch/bench-dist (not in
 * git), for a worker run as production runs it; answers the compiled worker's entry.
 */
export async function buildWorker(): Promise<string> {
  const root = path.join(__dirname, '..');
  const outDir = path.join(root, '.scratch', 'bench-dist');
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', outDir], { timeout: 300_000 }, (err, stdout) =>
      err ? reject(new Error(`tsc failed: ${stdout}`)) : resolve(),
    ),
  );
  return path.join(outDir, 'apps', 'worker', 'main.js');
}

/**
 * The worker in a process of its own (no wrapper process, so \`pid\` is the worker itself), polling
 * \`taskQueue\`; resolves once it polls. From source (\`apps/worker/main.ts\` with the tsx loader, as
 * \`npm run worker\`) unless \`entry\` names a compiled one (\`buildWorker\`, as \`npm run start:worker\`).
 */
export async function startChildWorker(services: Services, taskQueue: string, entry?: string): Promise<ChildWorker> {
  // The compiled worker with start:worker's settings; from source as `npm run worker` (plain tsx).
  const launch = entry ? productionWorkerLaunch() : { env: {}, nodeArgs: [] };
  // BENCH_WORKER_NODE_ARGS adds node flags to the worker process, e.g. \`--cpu-prof --cpu-prof-dir=/tmp/prof\` to profile it.
  const nodeArgs = [...launch.nodeArgs, ...(process.env.BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)];
  const args = entry ? [entry] : ['--import', 'tsx', path.join(__dirname, '../apps/worker/main.ts')];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...args], {
    env: { ...process.env, ...launch.env, ...services.env, TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 120_000;
  while (!output.includes(`polling ${taskQueue}`)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the worker did not start:\n${output.slice(-2000)}`);
    }
    await sleep(100);
  }
  return {
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface StubService {
  url: string;
  /** When (performance.now()) each request reached the stub and when its answer was sent, by path. */
  seen: { path: string; method: string; receivedAt: number; answeredAt: number }[];
  requests: number;
  close(): Promise<void>;
}

/**
 * The service the benchmark flows call: GET answers a list of 25 items, POST answers `{ ok: true }`.
 * It records request times only when `record` is true (latency benchmarks), counts always.
 */
export async function startStubService(record = false): Promise<StubService> {
  const items = JSON.stringify(Array.from({ length: 25 }, (_, i) => ({ id: i + 1, sku: `sku-${i + 1}` })));
  const stub: StubService = { url: '', seen: [], requests: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const receivedAt = performance.now();
    req.resume();
    req.on('end', () => {
      stub.requests += 1;
      res.setHeader('content-type', 'application/json');
      const answeredAt = performance.now();
      res.end(req.method === 'GET' ? items : '{"ok":true}');
      if (record) stub.seen.push({ path: req.url ?? '/', method: req.method ?? 'GET', receivedAt, answeredAt });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return stub;
}

/** The flow P1, P3, P4 and P5 run: GET the stub's items, count them with JSONata, POST the count. */
export function fanoutFlow(id: string, stubUrl: string) {
  return {
    id,
    name: `Bench ${id}`,
    type: 'automation',
    variables: { STUB: stubUrl },
    configs: { endOnFail: true },
    steps: [
      { id: 'fetch', type: 'http', config: { method: 'GET', url: '${env:STUB}/items', expectStatus: [200] } },
      { id: 'count', type: 'transform', config: { expression: "{ 'count': $count(steps.fetch.output.body) }" } },
      { id: 'post', type: 'http', config: { method: 'POST', url: '${env:STUB}/count', body: { count: '{{steps.count.output.count}}' } } },
    ],
  };
}

/** A web app to trigger against, and `flows` saved; answers the app id. */
export async function defineFlow(platform: Platform, flows: { id: string; [field: string]: unknown } | { id: string; [field: string]: unknown }[], key?: string): Promise<string> {
  const app = await platform.call<{ id: string }>('POST', '/api/v1/apps', { name: 'bench', platform: 'web', baseUrl: 'http://127.0.0.1' }, key);
  for (const flow of Array.isArray(flows) ? flows : [flows]) await platform.call('POST', '/api/v1/flows', flow, key);
  return app.id;
}

/** `n` copies of the fanout flow, `<prefix>-00`…: a batch runs each flow id once, so a batch of n runs needs n flows. */
export const fanoutFlows = (prefix: string, n: number, stubUrl: string) =>
  Array.from({ length: n }, (_, i) => fanoutFlow(`${prefix}-${String(i).padStart(2, '0')}`, stubUrl));

export interface BatchStatus {
  batch_id: string;
  status: string;
  is_complete: boolean;
  runs: { id: string; status: string }[];
}

/** POST /api/v1/flows/run of the first `runs` of `flows` in one batch; answers the batch id and its run ids. */
export async function triggerBatch(platform: Platform, appId: string, flows: { id: string }[], runs: number, maxParallel = 50): Promise<{ batchId: string; runIds: string[] }> {
  if (runs > flows.length) throw new Error(`a batch of ${runs} runs needs ${runs} flows, not ${flows.length}`);
  const res = await platform.call<{ batch_id: string; runs: { id: string }[] }>('POST', '/api/v1/flows/run', {
    app_id: appId,
    flow_ids: flows.slice(0, runs).map((f) => f.id),
    max_parallel: maxParallel,
    source: 'api',
  });
  if (res.runs.length !== runs) throw new Error(`the batch has ${res.runs.length} runs, not ${runs}`);
  return { batchId: res.batch_id, runIds: res.runs.map((r) => r.id) };
}

/**
 * Reads the status of every open batch at once, every `intervalMs`, until all report is_complete
 * (bounded by `timeoutMs`); `polls` counts the reads and their time.
 */
export async function waitForBatches(
  platform: Platform,
  batchIds: string[],
  timeoutMs: number,
  intervalMs = 250,
  polls: { count: number; ms: number } = { count: 0, ms: 0 },
): Promise<BatchStatus[]> {
  const done = new Map<string, BatchStatus>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < batchIds.length) {
    if (Date.now() > deadline) throw new Error(`${batchIds.length - done.size} of ${batchIds.length} batches not complete after ${timeoutMs} ms`);
    const next = sleep(intervalMs);
    await Promise.all(
      batchIds
        .filter((id) => !done.has(id))
        .map(async (id) => {
          const t = performance.now();
          const s = await platform.call<BatchStatus>('GET', `/api/v1/runs/status?batch_id=${id}`);
          polls.count += 1;
          polls.ms += performance.now() - t;
          if (s.is_complete) done.set(id, s);
        }),
    );
    if (done.size < batchIds.length) await next;
  }
  return batchIds.map((id) => done.get(id)!);
}

/** Fails loudly when a batch did not succeed: a benchmark of failing runs measures nothing. */
export function requireSucceeded(statuses: BatchStatus[]): void {
  const bad = statuses.flatMap((s) => s.runs.filter((r) => r.status !== 'succeeded'));
  if (bad.length) throw new Error(`${bad.length} runs did not succeed, e.g. ${JSON.stringify(bad[0])}`);
}
