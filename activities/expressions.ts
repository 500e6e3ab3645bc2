/**
 * JSONata under bounds. An expression is evaluated in a small child process with JSONata's own
 * time, depth and sequence guardrails; a process that overruns its hard deadline (a native call
 * the guardrails cannot interrupt: a catastrophic regex) or its heap (a huge `$pad`) is killed and
 * replaced. A child process rather than a worker thread: V8 aborts the whole process on some
 * out-of-memory paths, even in a worker thread. The worker's event loop, and with it every other
 * run, never waits on an expression. The processes serve accounts in turn, and no account holds
 * all of them, so one account's slow expressions never hold another's.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ExpressionLimits {
  /** Time budget of one evaluation. */
  timeoutMs: number;
  /** Deepest nesting of evaluation (recursion). */
  maxDepth: number;
  /** Longest sequence an evaluation may build. */
  maxSequence: number;
  /** Heap of one evaluator process. */
  memoryMb: number;
  /** Expressions of one account waiting for a process; one more fails at once. Default {@link DEFAULT_MAX_QUEUED_PER_ACCOUNT}. */
  maxQueuedPerAccount?: number;
}

export const DEFAULT_MAX_QUEUED_PER_ACCOUNT = 10_000;

export const DEFAULT_EXPRESSION_LIMITS: ExpressionLimits = { timeoutMs: 1000, maxDepth: 500, maxSequence: 1_000_000, memoryMb: 128, maxQueuedPerAccount: DEFAULT_MAX_QUEUED_PER_ACCOUNT };

/** Evaluator processes of a worker: an account holds all but one of them at most. */
export const DEFAULT_EXPRESSION_PROCESSES = 3;

/** Why an evaluation failed: the expression's own error, or a limit it ran into. */
export class ExpressionFailure extends Error {
  constructor(
    message: string,
    readonly limit?: 'time' | 'depth' | 'sequence' | 'memory' | 'queue',
  ) {
    super(message);
  }
}

/**
 * Whose turn an expression takes: an account id, or a function giving it, called only when the
 * expression needs a process (a bare path is read in place without asking).
 */
export type ExpressionAccount = string | (() => Promise<string>);

interface Job {
  expression: string;
  scope: unknown;
  account: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

type Reply = { id: number; ok: true; json?: string } | { id: number; ok: false; message: string; code?: string };

const EVALUATOR_SOURCE = `
const jsonata = require(process.env.FLOWRUNS_JSONATA);
const { timeoutMs, maxDepth, maxSequence } = JSON.parse(process.env.FLOWRUNS_EXPRESSION_LIMITS);
process.on('disconnect', () => process.exit(0));
process.on('message', async ({ id, expression, scope }) => {
  try {
    const value = await jsonata(expression, { timeout: timeoutMs, stack: maxDepth, sequence: maxSequence }).evaluate(scope);
    let json;
    try {
      json = value === undefined ? undefined : JSON.stringify(value);
    } catch {
      throw new Error('its value cannot be represented as JSON');
    }
    process.send({ id, ok: true, json });
  } catch (err) {
    const message = err instanceof RangeError ? 'exceeded the call stack' : (err && err.message) || String(err);
    process.send({ id, ok: false, message, code: err && err.code });
  }
});
`;

/** One evaluator process and the job it runs; replaced when it has to be killed. */
class Slot {
  private child!: ChildProcess;
  private job: (Job & { id: number; timer: NodeJS.Timeout }) | undefined;
  private seq = 0;

  constructor(
    private readonly limits: ExpressionLimits,
    private readonly onIdle: () => void,
  ) {
    this.spawn();
  }

  get busy(): boolean {
    return this.job !== undefined;
  }

  run(job: Job): void {
    const id = ++this.seq;
    // Past the guardrails' own budget, with room for them to answer first.
    const hardMs = this.limits.timeoutMs * 2 + 250;
    const timer = setTimeout(() => this.kill(new ExpressionFailure(`exceeded the time limit of ${this.limits.timeoutMs} ms`, 'time')), hardMs);
    this.job = { ...job, id, timer };
    this.child.send({ id, expression: job.expression, scope: job.scope });
  }

  async close(): Promise<void> {
    this.fail(new ExpressionFailure('evaluator closed'));
    this.child.removeAllListeners();
    this.child.kill('SIGKILL');
  }

  private spawn(): void {
    const child = spawn(process.execPath, [`--max-old-space-size=${this.limits.memoryMb}`, '-e', EVALUATOR_SOURCE], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      env: { PATH: process.env.PATH ?? '', FLOWRUNS_JSONATA: require.resolve('jsonata'), FLOWRUNS_EXPRESSION_LIMITS: JSON.stringify(this.limits) },
      serialization: 'advanced',
    });
    child.unref();
    (child as unknown as { channel?: { unref(): void } }).channel?.unref();
    child.on('message', (reply: Reply) => this.settle(reply));
    child.on('exit', () => this.replace(new ExpressionFailure(`exceeded the memory limit of ${this.limits.memoryMb} MB`, 'memory')));
    child.on('error', (err) => this.replace(new ExpressionFailure(`evaluator failed: ${err.message}`)));
    this.child = child;
  }

  private settle(reply: Reply): void {
    const job = this.job;
    if (!job || reply.id !== job.id) return;
    this.job = undefined;
    clearTimeout(job.timer);
    if (reply.ok) job.resolve(reply.json === undefined ? undefined : JSON.parse(reply.json));
    else job.reject(failureOf(reply, this.limits));
    this.onIdle();
  }

  private fail(err: Error): void {
    const job = this.job;
    if (!job) return;
    this.job = undefined;
    clearTimeout(job.timer);
    job.reject(err);
  }

  private kill(err: Error): void {
    this.child.removeAllListeners();
    this.child.kill('SIGKILL');
    this.replace(err);
  }

  private replace(err: Error): void {
    this.child.removeAllListeners();
    this.fail(err);
    this.spawn();
    this.onIdle();
  }
}

function failureOf(reply: Extract<Reply, { ok: false }>, limits: ExpressionLimits): ExpressionFailure {
  switch (reply.code) {
    case 'D1012':
      return new ExpressionFailure(`exceeded the time limit of ${limits.timeoutMs} ms`, 'time');
    case 'D1011':
      return new ExpressionFailure(`exceeded the depth limit of ${limits.maxDepth}`, 'depth');
    case 'D2015':
      return new ExpressionFailure(`exceeded the sequence limit of ${limits.maxSequence} items`, 'sequence');
  }
  if (reply.message === 'exceeded the call stack') return new ExpressionFailure(`exceeded the depth limit (call stack)`, 'depth');
  return new ExpressionFailure(reply.message);
}

const PLAIN_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){0,31}$/;
/** Names JSONata reads as operators or literals, never as a field. */
const JSONATA_WORDS = new Set(['and', 'or', 'in', 'true', 'false', 'null', 'function']);

/**
 * The value of a bare path such as `steps.count.output.count` when every step of it is a field of
 * a plain object and it ends on a value that is not an array: JSONata gives that same value, so it
 * is read here without a round trip to an evaluator process (a path is bounded by its length).
 * Undefined (JSONata decides) for anything else: an operator or function, a missing field, an
 * array on the way (JSONata maps over it) or at the end.
 */
export function plainPathValue(expression: string, scope: unknown): { value: unknown } | undefined {
  const path = expression.trim();
  if (path.length > 512 || !PLAIN_PATH.test(path)) return undefined;
  let value = scope;
  for (const key of path.split('.')) {
    if (JSONATA_WORDS.has(key) || value === null || typeof value !== 'object' || Array.isArray(value) || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  if (value === undefined || Array.isArray(value)) return undefined;
  // A copy, as an evaluator's answer is: the caller may change what it gets.
  return { value: value !== null && typeof value === 'object' ? JSON.parse(JSON.stringify(value)) : value };
}

/**
 * A small pool of evaluator processes. Jobs wait in a queue per account and the accounts take
 * turns (round robin: the next job is the waiting account's served longest ago), so an account's
 * queued jobs never hold another's; an account runs on all processes but one at most, so another
 * account's job finds one free or soon freed, not only behind slow ones. A bare path is read in place.
 */
export class ExpressionEvaluator {
  private readonly slots: Slot[];
  /** Waiting jobs of each account that has any. */
  private readonly queues = new Map<string, Job[]>();
  /** Jobs running, and when (a dispatch count) each account active now was last served. */
  private readonly running = new Map<string, number>();
  private readonly lastServed = new Map<string, number>();
  private served = 0;
  private readonly perAccount: number;
  private readonly maxQueued: number;

  constructor(
    readonly limits: ExpressionLimits = DEFAULT_EXPRESSION_LIMITS,
    processes = DEFAULT_EXPRESSION_PROCESSES,
  ) {
    this.slots = Array.from({ length: processes }, () => new Slot(limits, () => this.dispatch()));
    this.perAccount = Math.max(1, processes - 1);
    this.maxQueued = limits.maxQueuedPerAccount ?? DEFAULT_MAX_QUEUED_PER_ACCOUNT;
  }

  /** Evaluates `expression` over `scope` in the turn of `account` (one shared turn when none is named). */
  evaluate(expression: string, scope: unknown, account: ExpressionAccount = ''): Promise<unknown> {
    const plain = plainPathValue(expression, scope);
    if (plain) return Promise.resolve(plain.value);
    if (typeof account === 'function') return account().then((id) => this.enqueue(expression, scope, id));
    return this.enqueue(expression, scope, account);
  }

  async close(): Promise<void> {
    const waiting = [...this.queues.values()].flat();
    this.queues.clear();
    for (const job of waiting) job.reject(new ExpressionFailure('evaluator closed'));
    await Promise.all(this.slots.map((s) => s.close()));
  }

  private enqueue(expression: string, scope: unknown, account: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let queue = this.queues.get(account);
      if (queue && queue.length >= this.maxQueued) {
        reject(new ExpressionFailure(`exceeded the limit of ${this.maxQueued} expressions waiting per account`, 'queue'));
        return;
      }
      if (!queue) this.queues.set(account, (queue = []));
      const ended = () => this.ended(account);
      queue.push({ expression, scope, account, resolve: (v) => (ended(), resolve(v)), reject: (e) => (ended(), reject(e)) });
      this.dispatch();
    });
  }

  private ended(account: string): void {
    const n = (this.running.get(account) ?? 1) - 1;
    if (n > 0) this.running.set(account, n);
    else {
      this.running.delete(account);
      // An account with nothing running or waiting is forgotten: its next job is served as a newcomer's.
      if (!this.queues.has(account)) this.lastServed.delete(account);
    }
  }

  /** Gives idle processes the next jobs, the accounts taking turns. */
  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const job = this.nextJob();
      if (!job) return;
      this.running.set(job.account, (this.running.get(job.account) ?? 0) + 1);
      this.lastServed.set(job.account, ++this.served);
      slot.run(job);
    }
  }

  /** The first waiting job of the account served longest ago (a newcomer first) that may run one more. */
  private nextJob(): Job | undefined {
    let next: string | undefined;
    let nextServed = Infinity;
    for (const account of this.queues.keys()) {
      if ((this.running.get(account) ?? 0) >= this.perAccount) continue;
      const at = this.lastServed.get(account) ?? 0;
      if (at < nextServed) [next, nextServed] = [account, at];
    }
    if (next === undefined) return undefined;
    const queue = this.queues.get(next) as Job[];
    const job = queue.shift() as Job;
    if (!queue.length) this.queues.delete(next);
    return job;
  }
}
