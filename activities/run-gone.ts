/** A run whose rows were deleted under it: its activities fail without retry, and the run stops. */
import { ApplicationFailure } from '@temporalio/activity';
import { isMissingRun } from '../db/errors';
import { RUN_GONE } from '../steps/step-type';

export function runGone(err: unknown): unknown {
  return isMissingRun(err) ? ApplicationFailure.nonRetryable('the run no longer exists (its records were deleted); it stops here', RUN_GONE) : err;
}

/** Every activity of `acts`, with a deleted run's foreign-key errors turned into `RunGone`. */
export function stoppingWhenRunGone<T extends Record<string, (...args: never[]) => Promise<unknown>>>(acts: T): T {
  return Object.fromEntries(
    Object.entries(acts).map(([name, fn]) => [
      name,
      async (...args: never[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          throw runGone(err);
        }
      },
    ]),
  ) as T;
}
