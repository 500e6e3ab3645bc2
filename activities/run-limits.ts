/**
 * The running-run slots of an account (db/run-limits.ts), for the batch workflow: `waitForRunSlots`
 * asks for the slots of the batch's runs waiting at that moment, together, and fails with a
 * retryable `RunSlotBusy` until at least one of them is decided, so the runs wait on Temporal's
 * retry timer, queued, without holding a worker's slot; a run's first ask puts it in line and logs why.
 */
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { DataSource } from 'typeorm';
import { Projections } from '../db/projections';
import { takeRunSlots, waitingMessage, type RunLimits, type SlotAnswer } from '../db/run-limits';

export interface RunSlotsRequest {
  accountId: string;
  runIds: string[];
}

/** Positions in the request's `runIds` of the runs granted a slot, and of those that ended (or whose rows are gone) before they got one, which must not start; the others still wait. */
export interface RunSlotsAnswer {
  granted: number[];
  ended: number[];
}

/** Every retry of a waiting run is logged at debug level only (a busy account is not a worker's fault). */
export const RUN_SLOT_BUSY = 'RunSlotBusy';

export function createRunLimitActivities(dataSource: DataSource, limits: RunLimits) {
  const projections = new Projections(dataSource);
  const bound = limits.maxRunningRunsPerAccount;

  return {
    /** Answers once at least one of the runs is decided (granted, or ended); until then fails, to be retried (logged at debug level only). */
    async waitForRunSlots({ accountId, runIds }: RunSlotsRequest): Promise<RunSlotsAnswer> {
      const answers = await takeRunSlots(dataSource, accountId, runIds, bound);
      const out: RunSlotsAnswer = { granted: [], ended: [] };
      let waiting: Extract<SlotAnswer, { ended: false }> | undefined;
      for (const [i, answer] of answers.entries()) {
        if (answer.granted) out.granted.push(i);
        else if (answer.ended) out.ended.push(i);
        else {
          waiting ??= answer;
          // A run's first ask puts it in line: its log says why it waits.
          if (answer.first) await projections.log(runIds[i]!, [{ key: 'run.waiting', level: 'info', message: waitingMessage(answer, bound) }]);
        }
      }
      if (waiting && out.granted.length + out.ended.length === 0)
        throw ApplicationFailure.create({ type: RUN_SLOT_BUSY, message: waitingMessage(waiting, bound), category: ApplicationFailureCategory.BENIGN });
      return out;
    },
  };
}
