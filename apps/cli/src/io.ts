/** What every command shares: where it writes, the exit codes, the client from flags or environment. */
import { ApiError, FlowRunsClient } from './client';

/** Exit codes, as docs/cli.md documents them. */
export const PASSED = 0;
export const FAILED = 1;
export const USAGE = 2;

/** Ends the command with this exit code, saying why on stderr. */
export class Exit extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  tty: boolean;
  /** Where SIGINT/SIGTERM come from while a command waits (the process, unless a test says otherwise). */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
}

export interface GlobalOptions {
  url?: string;
  apiKey?: string;
}

export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function keyValues(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Exit(USAGE, `--env expects KEY=VALUE, got "${pair}"`);
    env[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return env;
}

export const baseUrlOf = (opts: GlobalOptions, io: Io): string => (opts.url ?? io.env.FLOWRUNS_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');

/** The run's page on the dashboard: every link the CLI prints or writes is this one. */
export const runPage = (base: string, runId: string): string => `${base}/ui/runs/${encodeURIComponent(runId)}`;
export const batchPage = (base: string, batchId: string): string => `${base}/ui/batches/${encodeURIComponent(batchId)}`;

export function clientOf(opts: GlobalOptions, io: Io): FlowRunsClient {
  const apiKey = opts.apiKey ?? io.env.FLOWRUNS_API_KEY;
  if (!apiKey) throw new Exit(USAGE, 'no API key: set FLOWRUNS_API_KEY or pass --api-key');
  return new FlowRunsClient({ baseUrl: baseUrlOf(opts, io), apiKey });
}

/** A call retried on network failures, 5xx and 429 (a trigger keeps its Idempotency-Key, so it starts one batch). */
export async function withRetries<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const retryable = !(err instanceof ApiError) || err.status >= 500 || err.status === 429;
      if (!retryable || attempt >= 4) throw err;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}

export const mark = (status: string) =>
  ({ succeeded: '✓', failed: '✗', cancelled: '⊘', timed_out: '⏱', skipped: '-', flaky: '≈' })[status] ?? '•';

/** Whole seconds or a duration in ms, as people read them. */
export const duration = (ms: number | null | undefined): string => (ms == null ? '—' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
