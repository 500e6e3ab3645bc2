/**
 * A run of a batch takes one of its account's running-run slots (FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT,
 * activities/run-limits.ts) before its workflow starts: asked once by a local activity, in the
 * batch's own task; when the account is at its bound, waited for by an activity that Temporal
 * retries (backing off to every few seconds, without end) until the slot is granted. Meanwhile the
 * run is `queued` and its log says why. The slot frees itself when the run ends, whichever way.
 */
import { proxyActivities, proxyLocalActivities, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { RUN_GONE } from '../steps/step-type';

const ASK_RETRY: RetryPolicy = { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: [RUN_GONE] };

const ask = proxyLocalActivities<Activities>({ startToCloseTimeout: '1 minute', localRetryThreshold: '10 seconds', retry: ASK_RETRY });

/** Every retry is a fresh ask that keeps the run's place in line; none adds to the history. */
const wait = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 1.5, maximumInterval: '2 seconds', nonRetryableErrorTypes: [RUN_GONE] },
});

/** Waits for the run's slot; false when the run ended before it got one (it must not start). */
export async function runSlot(accountId: string, runId: string): Promise<boolean> {
  const first = await ask.takeRunSlot({ accountId, runId });
  if (first.granted || first.ended) return first.granted;
  return (await wait.waitForRunSlot({ accountId, runId })).granted;
}
