/**
 * JSONata under bounds. An expression is evaluated in a small child process with JSONata's own
 * time, depth and sequence guardrails; a process that overruns its hard deadline (a native call
 * the guardrails cannot interrupt: a catastrophic regex) or its heap (a huge `$pad`) is killed and
 * replaced. A child process rather than a worker thread: V8 aborts the whole process on some
 * out-of-memory paths, even in a worker thread. The worker's event loop, and with it every other
 * run, never waits on an expression.
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
}

export const DEFAULT_EXPRESSION_LIMITS: ExpressionLimits = { timeoutMs: 1000, maxDepth: 500, maxSequence: 1_000_000, memoryMb: 128 };

/** Why an evaluation failed: the expression's own error, or a limit it ran into. */
export class ExpressionFailure extends Error {
  constructor(
    message: string,
    readonly limit?: 'time' | 'depth' | 'sequence' | 'memory',
  ) {
    super(message);
  }
}

interface Job {
  expression: string;
  scope: unknown;
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
    private readonly onIdle: (slot: Slot) => void,
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
    this.onIdle(this);
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
    this.onIdle(this);
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

/** A small pool of evaluator processes; jobs queue when every process is busy. A bare path is read in place. */
export class ExpressionEvaluator {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];

  constructor(
    readonly limits: ExpressionLimits = DEFAULT_EXPRESSION_LIMITS,
    processes = 2,
  ) {
    this.slots = Array.from({ length: processes }, () => new Slot(limits, (slot) => this.next(slot)));
  }

  evaluate(expression: string, scope: unknown): Promise<unknown> {
    const plain = plainPathValue(expression, scope);
    if (plain) return Promise.resolve(plain.value);
    return new Promise((resolve, reject) => {
      const job: Job = { expression, scope, resolve, reject };
      const idle = this.slots.find((s) => !s.busy);
      if (idle) idle.run(job);
      else this.queue.push(job);
    });
  }

  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) job.reject(new ExpressionFailure('evaluator closed'));
    await Promise.all(this.slots.map((s) => s.close()));
  }

  private next(slot: Slot): void {
    const job = this.queue.shift();
    if (job) slot.run(job);
  }
}
