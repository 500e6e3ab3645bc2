/**
 * The Temporal Schedule of the daily retention sweep (workflows/retention.ts), one per task
 * queue; created by the platform worker at start, left as it is when it exists, so an operator
 * may pause it or change its time in the Temporal UI.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';

export const retentionScheduleId = (taskQueue: string): string => `flowruns-retention-${taskQueue}`;

export async function ensureRetentionSchedule(client: Client, taskQueue: string, cron = '17 3 * * *'): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: retentionScheduleId(taskQueue),
      spec: { cronExpressions: [cron] },
      action: { type: 'startWorkflow', workflowType: 'retentionSweep', args: [], taskQueue, workflowId: `retention-${taskQueue}` },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      state: { note: 'Flow Runs: deletes finished runs past each account retention (GET /api/v1/settings)' },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}
