/**
 * The running-run slots of an account (db/run-limits.ts), for the batch workflow: `takeRunSlot`
 * asks once and answers; `waitForRunSlot` fails with a retryable `RunSlotBusy` until the slot is
 * granted, so the run waits on Temporal's retry timer, queued, without holding a worker's slot.
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
    /** Asks for the run's slot once; a run not granted one is in line and its log says why it waits. */
    async takeRunSlot(input: RunSlotRequest): Promise<RunSlot> {
      const answer = await ask(input);
      return answer.granted ? { granted: true } : { granted: false, ended: answer.ended };
    },

    /** Answers once the run has its slot (or has ended); until then fails, to be retried. */
    async waitForRunSlot(input: RunSlotRequest): Promise<RunSlot> {
      const answer = await ask(input);
      if (answer.granted) return { granted: true };
      if (answer.ended) return { granted: false, ended: true };
      throw ApplicationFailure.create({ type: RUN_SLOT_BUSY, message: waitingMessage(answer, bound), category: ApplicationFailureCategory.BENIGN });
    },
  };
}
