/**
 * Waiting for a batch as a CI job does: progress from the batch's event stream, and a stop when
 * the job is told to end (SIGINT, SIGTERM) or its `--timeout` runs out — the batch belongs to the
 * job, so the caller then cancels it.
 */
import { ApiError, type FlowRunsClient, type RunDetail } from './client';
import { mark, type Io } from './io';

/** Why a wait stopped early, as the verdict and the exit message say it. */
export interface Stop {
  verdict: 'cancelled' | 'timed_out';
  why: string;
}

/** SIGINT/SIGTERM and the deadline, for as long as a command waits. */
export class Guard {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  stopped?: Stop;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    if (this.stopped) {
      // A second signal: the user insists; leave without cleaning up.
      this.io.err(`flowruns: ${signal} again, leaving without waiting`);
      process.exit(1);
    }
    this.stop({ verdict: 'cancelled', why: `${signal} received` });
  };

  constructor(
    private readonly io: Io,
    timeoutSeconds?: number,
  ) {
    const signals = io.signals ?? process;
    signals.on('SIGINT', this.onSignal);
    signals.on('SIGTERM', this.onSignal);
    if (timeoutSeconds) this.timer = setTimeout(() => this.stop({ verdict: 'timed_out', why: `--timeout ${timeoutSeconds}s reached` }), timeoutSeconds * 1000);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  stop(stop: Stop): void {
    if (this.stopped) return;
    this.stopped = stop;
    this.controller.abort(new Error(stop.why));
  }

  dispose(): void {
    clearTimeout(this.timer);
    const signals = this.io.signals ?? process;
    signals.off('SIGINT', this.onSignal);
    signals.off('SIGTERM', this.onSignal);
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason as Error)), { once: true });
  });

/** Follows the batch's event stream, printing progress, until the batch ends or `signal` aborts (then it throws). */
export async function follow(client: FlowRunsClient, batchId: string, io: Io, quiet: boolean, signal?: AbortSignal): Promise<void> {
  const names = new Map<string, string>();
  const status = await client.batch(batchId);
  for (const r of status.runs) names.set(r.id, r.flow_name);
  if (status.is_complete) return;
  let done = 0;
  const total = status.runs.length;
  const say = (line: string) => {
    if (quiet) return;
    io.err(io.tty ? `[${done}/${total}] ${line}` : line);
  };
  try {
    for await (const e of client.events('batches', batchId, signal)) {
      const flow = names.get(e.data.run_id) ?? e.data.run_id;
      if (e.event === 'run.started') say(`▶ ${flow}`);
      else if (e.event === 'step.finished') say(`  ${mark(e.data.status ?? '')} ${flow} › ${e.data.step_id} ${e.data.status}`);
      else if (e.event === 'run.waiting') say(`  ⏸ ${flow} waiting for approval`);
      else if (e.event === 'run.finished') {
        done++;
        say(`${mark(e.data.status ?? '')} ${flow} ${e.data.status}`);
      }
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    // A gateway without event streams: poll instead.
    for (;;) {
      if ((await client.batch(batchId)).is_complete) return;
      await sleep(2000, signal);
    }
  }
}

/** After a cancel: the batch's end, waited for a little (its runs stop within seconds), then its runs as they are. */
export async function settle(client: FlowRunsClient, batchId: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if ((await client.batch(batchId)).is_complete) return;
    await sleep(500);
  }
}

export async function details(client: FlowRunsClient, runIds: string[]): Promise<RunDetail[]> {
  return Promise.all(runIds.map((id) => client.run(id)));
}
