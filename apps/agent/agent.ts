/**
 * An agent: a process an account runs on a machine of its own, holding one key of that account
 * and talking to the gateway only, over HTTP(S). It registers under a name, long-polls for the
 * step attempts of its account's runs sent to that name, runs each with the platform's step code
 * (activities/agent.ts) behind its own egress policy, beats while it runs (a "cancelled" answer
 * aborts the step) and posts back what the attempt did. No Temporal, no database, no payload key.
 */
import type { AgentAttempt, AgentCall, AgentRunner } from '../../activities/agent';

/** How often a running attempt tells the gateway it is alive; the platform gives an attempt up after 6 s of silence. */
export const AGENT_HEARTBEAT_MS = 500;
/** A long poll answers within 25 s; a request taking longer than this has hung. */
const LONG_POLL_TIMEOUT_MS = 40_000;
const REQUEST_TIMEOUT_MS = 15_000;
/** How long a result is offered to an unreachable gateway before the attempt is given up (the platform then counts it lost). */
const RESULT_PATIENCE_MS = 30_000;

export interface AgentOptions {
  name: string;
  gatewayUrl: string;
  apiKey: string;
  /** Attempts run at once. */
  concurrency: number;
  /** `agent:<name>@<host>:<pid>`: how the agents list shows this process. */
  identity: string;
  runner: AgentRunner;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** The gateway refused the key (401 or 403): the agent stops. */
export class AgentKeyRefused extends Error {}

/** The agent cannot start as configured (no gateway, unreachable, its name refused). */
export class AgentSetupError extends Error {}

interface Answer {
  status: number;
  body: unknown;
  retryAfterMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

const describe = (body: unknown): string => {
  const b = body as { error?: unknown; title?: unknown } | undefined;
  return typeof b?.error === 'string' ? b.error : typeof b?.title === 'string' ? b.title : JSON.stringify(body ?? null).slice(0, 300);
};

export class Agent {
  private readonly stopping = new AbortController();
  private fatal: Error | undefined;
  private readonly base: string;

  constructor(private readonly opts: AgentOptions) {
    this.base = `${opts.gatewayUrl}/api/v1/agents/${encodeURIComponent(opts.name)}`;
  }

  /** Asks the agent to stop: no new attempt is taken; those running finish and are answered. */
  stop(): void {
    this.stopping.abort();
  }

  private async call(method: string, path: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<Answer> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { 'x-api-key': this.opts.apiKey, 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (res.status === 401 || res.status === 403) {
      this.fatal ??= new AgentKeyRefused(`the gateway refused the agent's key (HTTP ${res.status}: ${describe(parsed)}); the agent stops`);
      this.stopping.abort();
      throw this.fatal;
    }
    const retryAfter = Number(res.headers.get('retry-after'));
    return { status: res.status, body: parsed, ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}) };
  }

  /** Registers the agent's name with its account. */
  async register(): Promise<void> {
    let answer: Answer;
    try {
      answer = await this.call('PUT', '', { identity: this.opts.identity }, REQUEST_TIMEOUT_MS);
    } catch (err) {
      if (err instanceof AgentKeyRefused) throw err;
      throw new AgentSetupError(`could not reach the gateway at ${this.opts.gatewayUrl} to register agent ${this.opts.name}: ${(err as Error).message}`);
    }
    if (answer.status !== 200) throw new AgentSetupError(`the gateway refused to register agent ${this.opts.name} (HTTP ${answer.status}): ${describe(answer.body)}`);
  }

  /** Runs until stopped (resolves) or until the gateway refuses the key (rejects with `AgentKeyRefused`). */
  async run(): Promise<void> {
    // An unreachable gateway (not started yet, a network blip) is waited for; a refusal is not.
    for (let tries = 0; ; tries++) {
      try {
        await this.register();
        break;
      } catch (err) {
        if (!(err instanceof AgentSetupError) || !err.message.startsWith('could not reach') || this.stopping.signal.aborted) throw err;
        this.opts.log('warn', `${err.message}; trying again`);
        await sleep(Math.min(30_000, 1000 * 2 ** Math.min(tries, 5)), this.stopping.signal);
      }
    }
    if (this.stopping.signal.aborted) return;
    this.opts.log('info', `agent ${this.opts.identity} registered with ${this.opts.gatewayUrl}; running up to ${this.opts.concurrency} step attempts at once (no Temporal, no database: the gateway is all it talks to)`);
    await Promise.all(Array.from({ length: this.opts.concurrency }, () => this.slot()));
    if (this.fatal) throw this.fatal;
  }

  /** One attempt at a time: long-poll, run, answer, again. */
  private async slot(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      let answer: Answer;
      try {
        answer = await this.call('POST', '/attempts/next', { identity: this.opts.identity }, LONG_POLL_TIMEOUT_MS, this.stopping.signal);
      } catch (err) {
        if (this.stopping.signal.aborted) return;
        failures++;
        this.opts.log('warn', `the gateway at ${this.opts.gatewayUrl} did not answer (${(err as Error).message}); trying again`);
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), this.stopping.signal);
        continue;
      }
      if (answer.status === 204) {
        failures = 0;
        continue;
      }
      if (answer.status === 200) {
        failures = 0;
        const { id, call } = answer.body as { id: string; call: AgentCall };
        await this.attempt(id, call);
        continue;
      }
      if (answer.status === 404) {
        // The agent was removed (DELETE /api/v1/agents/{name}): it registers again.
        this.opts.log('warn', `agent ${this.opts.name} is not registered any more; registering again`);
        await this.register().catch((err) => this.opts.log('warn', (err as Error).message));
        await sleep(1000, this.stopping.signal);
        continue;
      }
      failures++;
      this.opts.log('warn', `the gateway answered ${answer.status} to the long poll (${describe(answer.body)}); trying again`);
      await sleep(answer.retryAfterMs ?? Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), this.stopping.signal);
    }
  }

  /** Runs one attempt, beating while it runs, and posts its result unless it was cancelled. */
  private async attempt(id: string, call: AgentCall): Promise<void> {
    const aborted = new AbortController();
    // A refused key stops this step too.
    const onStop = () => this.fatal && aborted.abort();
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    let beating = false;
    const beat = setInterval(() => {
      if (beating || aborted.signal.aborted) return;
      beating = true;
      this.call('POST', `/attempts/${id}/heartbeat`, { identity: this.opts.identity }, REQUEST_TIMEOUT_MS)
        .then((a) => {
          const cancelled = a.status === 404 || (a.status === 200 && (a.body as { cancelled?: boolean }).cancelled === true);
          if (cancelled && !aborted.signal.aborted) {
            this.opts.log('info', `attempt ${call.attempt} of step ${call.key} (run ${call.scope.run.id}) was cancelled; stopping it`);
            aborted.abort();
          }
        })
        .catch(() => undefined)
        .finally(() => (beating = false));
    }, AGENT_HEARTBEAT_MS);
    let result: AgentAttempt | undefined;
    try {
      result = await this.opts.runner.runAttempt(call, aborted.signal);
    } catch (err) {
      if (!aborted.signal.aborted) this.opts.log('error', `attempt ${call.attempt} of step ${call.key} could not run: ${(err as Error).message}`);
    } finally {
      clearInterval(beat);
      this.stopping.signal.removeEventListener('abort', onStop);
    }
    if (!result || aborted.signal.aborted) return;
    await this.answer(id, call, result);
  }

  /** Posts the result, trying again while the gateway is unreachable. */
  private async answer(id: string, call: AgentCall, result: AgentAttempt): Promise<void> {
    const deadline = Date.now() + RESULT_PATIENCE_MS;
    let refused = false;
    for (let tries = 0; ; tries++) {
      let a: Answer | undefined;
      try {
        a = await this.call('POST', `/attempts/${id}/result`, result, REQUEST_TIMEOUT_MS);
      } catch (err) {
        if (err instanceof AgentKeyRefused) return;
      }
      if (a && a.status < 300) return;
      if ((a?.status === 413 || a?.status === 400) && !refused) {
        // Refused as sent (too large, a NUL in the output): the step fails for good rather than being retried to the same end.
        const now = new Date().toISOString();
        const { startedAt, finishedAt } = result.status === 'skipped' ? { startedAt: now, finishedAt: now } : result;
        result = { status: 'failed', error: `the gateway refused the attempt's result (HTTP ${a.status}: ${describe(a.body)})`, errorType: 'AgentResultRefused', nonRetryable: true, startedAt, finishedAt, requests: [] };
        refused = true;
        continue;
      }
      if (a && a.status < 500 && a.status !== 429) {
        this.opts.log('warn', `the result of attempt ${call.attempt} of step ${call.key} was not taken (HTTP ${a.status}: ${describe(a.body)})`);
        return;
      }
      if (Date.now() > deadline) {
        this.opts.log('error', `could not hand back attempt ${call.attempt} of step ${call.key}: the gateway did not take it within ${RESULT_PATIENCE_MS / 1000} s`);
        return;
      }
      await sleep(a?.retryAfterMs ?? Math.min(5000, 250 * 2 ** tries));
    }
  }
}
