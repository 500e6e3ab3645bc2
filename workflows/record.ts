/**
 * The activities that record a run (projections, schedules): retried until they succeed, since
 * what they write must not be lost (a Postgres outage is waited out); each is idempotent, so a
 * retry never doubles a record. The one end: the run's rows were deleted (`RunGone`), when there
 * is nothing left to record into and the run stops.
 */
import { proxyActivities, proxyLocalActivities, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { RUN_GONE } from '../steps/step-type';

const RECORD_RETRY: RetryPolicy = { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: [RUN_GONE] };

export const record = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: RECORD_RETRY });

/**
 * The same activities run as local activities, in the workflow's own task: a run's start and end
 * records cost no round trip through the server and no activity events in its history. Their
 * results are kept in the history like an activity's, and a worker that dies mid-way runs them
 * again (they are idempotent). Past 10 s of retrying, retries wait on server timers.
 */
export const localRecord = proxyLocalActivities<Activities>({ startToCloseTimeout: '1 minute', localRetryThreshold: '10 seconds', retry: RECORD_RETRY });
