/**
 * The running-run slots of an account (db/run-limits.ts), for the batch workflow: `waitForRunSlot`
 * fails with a retryable `RunSlotBusy` until the slot is granted, so the run waits on Temporal's
 * retry timer, queued, without holding a worker's slot; its first ask puts it in line and logs why.
 */
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { DataSource } from 'typeorm';
import { Projections } from '../db/projections';
import { takeRunSlot, waitingMessage, type RunLimits, type SlotAnswer } from '../db/run-limits';
import { RUN_GONE } from '../steps/step-type';

export interface RunSlotRequest {
  accountId: string;
  runId: string;
}

/** `ended`: the run ended, or its rows were deleted, before it got its slot; it must not start. */
export type RunSlot = { granted: true } | { granted: false; ended: boolean };

/** Every retry of a waiting run is logged at debug level only (a busy account is not a worker's fault). */
export const RUN_SLOT_BUSY = 'RunSlotBusy';

export function createRunLimitActivities(dataSource: DataSource, limits: RunLimits) {
  const projections = new Projections(dataSource);
  const bound = limits.maxRunningRunsPerAccount;

  const ask = async ({ accountId, runId }: RunSlotRequest): Promise<SlotAnswer> => {
    const answer = await takeRunSlot(dataSource, accountId, runId, bound);
    if (!answer.granted && answer.ended && answer.gone) throw ApplicationFailure.nonRetryable(`run ${runId} no longer exists`, RUN_GONE);
    if (!answer.granted && !answer.ended && answer.first)
      await projections.log(runId, [{ key: 'run.waiting', level: 'info', message: waitingMessage(answer, bound) }]);
    return answer;
  };

  return {
    /** Answers once the run has its slot (or has ended); until then fails, to be retried (logged at debug level only). */
    async waitForRunSlot(input: RunSlotRequest): Promise<RunSlot> {
      const answer = await ask(input);
      if (answer.granted) return { granted: true };
      if (answer.ended) return { granted: false, ended: true };
      throw ApplicationFailure.create({ type: RUN_SLOT_BUSY, message: waitingMessage(answer, bound), category: ApplicationFailureCategory.BENIGN });
    },
  };
}
