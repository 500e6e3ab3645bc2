/**
 * A run of a batch takes one of its account's running-run slots (FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT,
 * activities/run-limits.ts) before its workflow starts: one activity that asks, and that Temporal
 * retries while the account is at its bound (backing off to every 2 s, without end) until the slot
 * is granted. Meanwhile the run is `queued` and its log says why. The slot frees itself when the
 * run ends, whichever way.
 *
 * An activity, not a local one: the lanes of a batch ask at once, and local activities finishing in
 * separate activations are replayed in one, which would reorder the children's starts.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { RUN_GONE } from '../steps/step-type';

/** Every retry is a fresh ask that keeps the run's place in line; none adds to the history. */
const slots = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 1.5, maximumInterval: '2 seconds', nonRetryableErrorTypes: [RUN_GONE] },
});

/** Waits for the run's slot; false when the run ended before it got one (it must not start). */
export async function runSlot(accountId: string, runId: string): Promise<boolean> {
  return (await slots.waitForRunSlot({ accountId, runId })).granted;
}
