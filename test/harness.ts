/**
 * One real stack per test file: the gateway on port 0 over the shared Postgres and Temporal
 * (from the jest global setup), a random admin key and, when asked, workers on a task queue of
 * their own, so files never steal each other's tasks.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { loadConfig, type Config } from '../platform/config';
import { dataConverterFor } from '../platform/payload-codec';
import { connectionOptions, nativeConnectionOptions } from '../platform/temporal-connection';
import { tracing } from '../platform/tracing';
import { startGateway } from '../apps/gateway/server';
import { ensureRetentionSchedule, retentionScheduleId } from '../apps/worker/retention';
import { closeBrowsers, createWorkers } from '../apps/worker/worker';
import { openDatabase } from '../db/data-source';
import { LOOPBACK_ALLOW } from '../activities/egress';
import { isTerminalRun } from '../domain/statuses';
import { startStub, type Stub, type StubHandler } from './stub-server';

/** Tests read response bodies loosely by default: the shape is what they assert. */
export type Loose = any;

export interface CallResult<T = Loose> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Stack {
  baseUrl: string;
  adminKey: string;
  config: Config;
  dataSource: DataSource;
  client: Client;
  taskQueue: string;
  /** JSON over HTTP; `key` defaults to the admin key, `null` sends no key. A string body is sent as-is. */
  call<T = Loose>(method: string, path: string, body?: unknown, key?: string | null, headers?: Record<string, string>): Promise<CallResult<T>>;
  /** A fresh account and its key, so each test works in a tenant of its own. */
  newAccount(name?: string): Promise<{ accountId: string; apiKey: string }>;
  stop(): Promise<void>;
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through jest (its global setup provides it) or export it`);
  return value;
}

/**
 * A client connection a test can close while calls are in flight. The SDK retries a call that
 * ended UNAVAILABLE on a timer, and a retry that fires after `close()` throws ("Channel has been
 * shut down") from that timer: in a jest worker, into whichever test file runs then. So once
 * closing, nothing is retried any more, and the close waits for the retries already on a timer.
 */
async function closableConnection(config: Config): Promise<{ connection: Connection; close(): Promise<void> }> {
  const retry = defaultGrpcRetryOptions();
  let closing = false;
  let timers = 0;
  const connection = await Connection.connect(
    connectionOptions(config.temporal, {
      interceptors: [
        makeGrpcRetryInterceptor({
          retryableDecider: (attempt, status) => !closing && retry.retryableDecider(attempt, status),
          delayFunction: (attempt, status) => {
            const ms = retry.delayFunction(attempt, status);
            timers++;
            setTimeout(() => timers--, ms + 20).unref();
            return ms;
          },
        }),
      ],
    }),
  );
  return {
    connection,
    close: async () => {
      closing = true;
      for (let waited = 0; timers > 0 && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      await connection.close();
    },
  };
}

/**
 * A stack of one's own: `env` overrides its configuration variables. Most files want
 * `withStack` below (it also starts and stops workers, a stub, an account and an app); this is
 * for a second stack beside it, configured differently.
 */
export async function startStack(opts: { env?: Record<string, string> } = {}): Promise<Stack> {
  const adminKey = `admin-${randomBytes(16).toString('hex')}`;
  const taskQueue = `flows-test-${randomBytes(6).toString('hex')}`;
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: env('DATABASE_URL'),
    TEMPORAL_ADDRESS: env('TEMPORAL_ADDRESS'),
    FLOWRUNS_ADMIN_KEY: adminKey,
    TASK_QUEUE: taskQueue,
    PORT: '0',
    HOST: '127.0.0.1',
    // Tests send many requests with one key; test/keys.test.ts turns the limit on for itself.
    FLOWRUNS_RATE_LIMIT_PER_MINUTE: '0',
    // Opened explicitly: the tests' stub servers listen on 127.0.0.1 (test/egress.test.ts narrows it).
    FLOWRUNS_EGRESS_ALLOW: LOOPBACK_ALLOW.join(','),
    ...opts.env,
  });
  const dataSource = await openDatabase(config.databaseUrl as string, { poolSize: 5 });
  const { connection, close: closeConnection } = await closableConnection(config);
  const traced = tracing();
  const client = new Client({ connection, namespace: config.namespace, dataConverter: dataConverterFor(config.payloadKeys), ...(traced ? { interceptors: traced.clientInterceptors } : {}) });

  const gateway = await startGateway({ config, dataSource, client, port: 0, host: '127.0.0.1' });
  const baseUrl = gateway.url;

  const call: Stack['call'] = async (method, path, body, key = adminKey, headers = {}) => {
    const h: Record<string, string> = { ...headers };
    if (key !== null) h['x-api-key'] = key;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, { method: method.toUpperCase(), headers: h, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed as never, headers: res.headers };
  };

  const newAccount: Stack['newAccount'] = async (name = `test-${randomBytes(4).toString('hex')}`) => {
    const res = await call('POST', '/api/v1/accounts', { name });
    if (res.status !== 201) throw new Error(`creating an account answered ${res.status}: ${JSON.stringify(res.body)}`);
    return { accountId: res.body.id as string, apiKey: res.body.apiKey as string };
  };

  return {
    baseUrl,
    adminKey,
    config,
    dataSource,
    client,
    taskQueue,
    call,
    newAccount,
    stop: async () => {
      await gateway.stop();
      await closeConnection();
      await dataSource.destroy();
    },
  };
}

export interface StackOptions {
  /** Configuration variables of the stack (gateway and workers); a function when they are known only once earlier hooks ran. */
  env?: Record<string, string> | (() => Record<string, string>);
  /** Workers on the stack's task queue; an object overrides their config (expression limits, say). */
  workers?: boolean | Partial<Config>;
  /** A loopback stub server (test/stub-server.ts); a function answers its requests. */
  stub?: boolean | StubHandler;
  /** A fresh account, its key as `key` (implied by `app`). */
  account?: boolean;
  /** An app of that account, `appId`: named `app` (or the name given), its baseUrl the stub's when there is one. */
  app?: boolean | string;
  /** Runs before the fixture stops (agents, schedules, browsers the file started while the stack is still up). */
  teardown?: () => unknown;
}

/** The stack of a test file, with what `withStack` was asked for; filled in by its `beforeAll`. */
export interface StackFixture extends Stack {
  stub: Stub;
  workers: RunningWorkers | undefined;
  key: string;
  accountId: string;
  appId: string;
}

/**
 * The one stack fixture: registers a `beforeAll` that starts the stack (and, as asked, workers, a
 * stub, an account and an app in it) and an `afterAll` that stops them all; answers a handle that
 * is the stack itself once `beforeAll` has run.
 *
 *   const stack = withStack({ workers: true, stub: true, app: true });
 *   it('…', async () => stack.call('POST', '/api/v1/flows', flow, stack.key));
 */
export function withStack(opts: StackOptions = {}): StackFixture {
  const fixture = {} as StackFixture;
  let started: Stack | undefined;
  let stub: Stub | undefined;
  let workers: RunningWorkers | undefined;
  beforeAll(async () => {
    started = await startStack({ env: typeof opts.env === 'function' ? opts.env() : opts.env });
    Object.assign(fixture, started);
    if (opts.workers) workers = await startWorkers(started, opts.workers === true ? {} : opts.workers);
    if (opts.stub) stub = await startStub(opts.stub === true ? undefined : opts.stub);
    let key = '';
    let accountId = '';
    let appId = '';
    if (opts.account || opts.app) ({ accountId, apiKey: key } = await started.newAccount());
    if (opts.app) {
      const app = await started.call('POST', '/api/v1/apps', { name: opts.app === true ? 'app' : opts.app, platform: 'web', ...(stub ? { baseUrl: stub.url } : {}) }, key);
      if (app.status !== 201) throw new Error(`creating the app answered ${app.status}: ${JSON.stringify(app.body)}`);
      appId = app.body.id;
    }
    Object.assign(fixture, { stub, workers, key, accountId, appId });
  }, 120_000);
  afterAll(async () => {
    await opts.teardown?.();
    // The field, not the workers started here: a file may have restarted them (test/engine.test.ts).
    await fixture.workers?.stop();
    await stub?.close();
    await started?.stop();
  });
  return fixture;
}

export interface RunningWorkers {
  /** Shuts the workers down, waits for them to drain and closes their connection. */
  stop(): Promise<void>;
}

/** Workers over a connection of their own; `overrides` change their config (an agent name, say). */
export async function startWorkers(
  base: { config: Config; dataSource: DataSource },
  overrides: Partial<Config> = {},
): Promise<RunningWorkers> {
  const connection = await NativeConnection.connect(nativeConnectionOptions(base.config.temporal));
  const workers = await createWorkers({ config: { ...base.config, ...overrides }, dataSource: base.dataSource, connection });
  const running = workers.map((w) => w.run());
  return {
    stop: async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.all(running);
      await closeBrowsers();
      await connection.close();
    },
  };
}

export interface RunningAgent {
  /** How the agents list shows it (`agent:<name>@<host>:<pid>`), as it printed it. */
  identity: string;
  pid: number;
  /** Everything the agent printed so far. */
  output(): string;
  /** Resolves with its exit code once it has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then waits for it to exit. */
  stop(): Promise<void>;
  /** SIGKILL to every process of the agent (kill -9 of its process group): it dies where it is. */
  kill(): Promise<void>;
}

/** Signals every process of the group `pid` leads (gone already: nothing to do). */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group has exited
  }
}

/**
 * A real agent: `tsx apps/agent/main.ts --name NAME` in a process of its own, in an empty working
 * directory, with nothing in its environment but the gateway's address and `apiKey` (and the
 * loopback egress the tests' stubs need): no database URL, no Temporal address, no payload keys.
 */
export async function startAgent(stack: Stack, name: string, apiKey: string, env: Record<string, string> = {}): Promise<RunningAgent> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-agent-'));
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, '../apps/agent/main.ts'), '--name', name], {
    cwd,
    env: {
      FLOWRUNS_URL: stack.baseUrl,
      FLOWRUNS_API_KEY: apiKey,
      FLOWRUNS_EGRESS_ALLOW: LOOPBACK_ALLOW.join(','),
      // Where Chromium is on this machine, as the platform's workers find it.
      ...(process.env.CHROMIUM_PATH ? { CHROMIUM_PATH: process.env.CHROMIUM_PATH } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own: tsx's launcher, the agent under it, its evaluators and browsers die together, as a machine would.
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => fs.rmSync(cwd, { recursive: true, force: true }));
  const deadline = Date.now() + 60_000;
  while (!output.includes('registered with')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      killGroup(child.pid!, 'SIGKILL');
      throw new Error(`agent ${name} did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    identity: /agent (agent:\S+) registered/.exec(output)![1],
    pid: child.pid!,
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      killGroup(child.pid!, 'SIGKILL');
    },
    kill: async () => {
      killGroup(child.pid!, 'SIGKILL');
      await exited;
    },
  };
}

/** What `until` throws when its deadline passes. */
class TimedOut extends Error {}

/** Polls `probe` until it answers something other than undefined, and answers that; throws naming `what` after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new TimedOut(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `until` for a value that must pass `ok`: polls `probe` until it does or `timeoutMs` passes, and answers the last value either way. */
export async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  let last!: T;
  try {
    return await until('eventually', async () => ((last = await probe()), ok(last) ? last : undefined), timeoutMs);
  } catch (err) {
    if (err instanceof TimedOut) return last;
    throw err;
  }
}

/** A run's detail (`GET /api/v1/runs/{id}`) once the run has ended; throws if it has not within `timeoutMs`. */
export async function runDetailWhenEnded(stack: Stack, runId: string, key: string, timeoutMs: number): Promise<Loose> {
  const detail = await eventually(() => stack.call('GET', `/api/v1/runs/${runId}`, undefined, key), (d) => isTerminalRun(d.body.status), timeoutMs);
  if (!isTerminalRun(detail.body.status)) throw new Error(`run ${runId} still ${detail.body.status}`);
  return detail.body;
}

/** Fires the stack's daily retention schedule now (created if missing) and answers what its sweep returned. */
export async function sweepRetentionNow(stack: Stack): Promise<unknown> {
  await ensureRetentionSchedule(stack.client, stack.config.taskQueue);
  const schedule = stack.client.schedule.getHandle(retentionScheduleId(stack.config.taskQueue));
  await schedule.trigger();
  const deadline = Date.now() + 30_000;
  let fired: string | undefined;
  while (!fired) {
    fired = (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId;
    if (Date.now() > deadline) throw new Error('the retention schedule did not fire');
    await new Promise((r) => setTimeout(r, 200));
  }
  return stack.client.workflow.getHandle(fired).result();
}
