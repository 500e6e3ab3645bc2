/** The daily retention sweep (a Temporal Schedule starts it): deletes what is past each account's retention, in bounded activity calls. */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { sweepRetention } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', maximumInterval: '5 minutes', maximumAttempts: 10 },
});

/** At most this many activity calls per sweep; whatever is left waits for the next day. */
const MAX_CALLS = 50;

export async function retentionSweep(): Promise<{ runs: number; batches: number }> {
  let runs = 0;
  let batches = 0;
  for (let i = 0; i < MAX_CALLS; i++) {
    const r = await sweepRetention({});
    runs += r.runs;
    batches += r.batches;
    if (!r.more) break;
  }
  return { runs, batches };
}
