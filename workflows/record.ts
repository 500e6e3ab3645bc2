/**
 * The activities that record a run (projections, schedules): retried until they succeed, since
 * what they write must not be lost (a Postgres outage is waited out); each is idempotent, so a
 * retry never doubles a record. The one end: the run's rows were deleted (`RunGone`), when there
 * is nothing left to record into and the run stops.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { RUN_GONE } from '../steps/step-type';

export const record = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: [RUN_GONE] },
});
