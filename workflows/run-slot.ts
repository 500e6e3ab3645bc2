/**
 * A run of a batch takes one of its account's running-run slots (FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT,
 * activities/run-limits.ts) before its workflow starts. The runs of a batch waiting at one moment
 * ask together: one activity for all of them, which Temporal retries while the account is at its
 * bound (backing off to every 2 s, without end) until at least one is decided; the runs still
 * waiting then ask again, with those that came meanwhile. Meanwhile a run is `queued` and its log
 * says why. A slot frees itself when its run ends, whichever way.
 *
 * An activity, not a local one: local activities finishing in separate activations are replayed in
 * one, which would reorder the children's starts.
 */
import { CancellationScope, condition, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/** Every retry is a fresh ask that keeps the runs' places in line; none adds to the history. */
const slots = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 1.5, maximumInterval: '2 seconds' },
});

/**
 * The slots of one batch's runs. Made in the batch's own scope, so cancelling one run (its lane's
 * scope) cancels only that run's wait, not the ask it shares with the others; `close` ends the asking.
 */
export class RunSlots {
  /** The runs waiting for an answer, in the order they asked. */
  private readonly waiting: string[] = [];
  /** Answers not yet taken by their runs: true when granted. */
  private readonly answers = new Map<string, boolean>();
  private readonly scope = new CancellationScope();
  private failure: unknown;

  constructor(private readonly accountId: string) {
    this.scope.run(() => this.ask()).catch((err: unknown) => {
      if (!isCancellation(err)) this.failure = err;
    });
  }

  /** Waits for the run's slot; false when the run ended before it got one (it must not start). */
  async take(runId: string): Promise<boolean> {
    this.waiting.push(runId);
    try {
      await condition(() => this.answers.has(runId) || this.failure !== undefined);
      if (!this.answers.has(runId)) throw this.failure;
      return this.answers.get(runId)!;
    } finally {
      this.answers.delete(runId);
      const i = this.waiting.indexOf(runId);
      if (i >= 0) this.waiting.splice(i, 1);
    }
  }

  /** No more runs will ask: the asking stops, its scope cancelled (a wait or an ask in flight with it). */
  close(): void {
    this.scope.cancel();
  }

  private async ask(): Promise<void> {
    for (;;) {
      await condition(() => this.waiting.length > 0);
      const runIds = [...this.waiting];
      const { granted, ended } = await slots.waitForRunSlots({ accountId: this.accountId, runIds });
      // A run that stopped waiting meanwhile (cancelled) takes no answer.
      const answer = (positions: number[], value: boolean) => {
        for (const p of positions) {
          const i = this.waiting.indexOf(runIds[p]!);
          if (i < 0) continue;
          this.waiting.splice(i, 1);
          this.answers.set(runIds[p]!, value);
        }
      };
      answer(granted, true);
      answer(ended, false);
    }
  }
}
