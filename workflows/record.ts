/**
 * The activities that record a run (projections, schedules): retried until they succeed, since
 * what they write must not be lost; each is idempotent, so a retry never doubles a record.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

export const record = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});
