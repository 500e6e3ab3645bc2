/** Activities that manage Temporal Schedules, e.g. the temporary one an agent run starts from. */
import { ApplicationFailure } from '@temporalio/activity';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';

export function createScheduleActivities(client: Client | undefined) {
  return {
    /** Deletes a schedule; one already gone counts as deleted, so a retry or a replay is harmless. */
    async deleteSchedule(input: { scheduleId: string }): Promise<void> {
      if (!client) throw ApplicationFailure.nonRetryable('this worker has no Temporal client to delete schedules with', 'NoTemporalClient');
      try {
        await client.schedule.getHandle(input.scheduleId).delete();
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      }
    },
  };
}
