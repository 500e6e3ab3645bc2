/**
 * Seed 002's flow-run object: the platform run (row plus live Temporal state) in camelCase, with
 * the platform's status words as `phase` (SPEC §5) and the step runs as `actions`.
 */
import type { RunLog } from '../../../db/entities';
import type { LiveRun } from './reconcile';
import { presentedStatus, type StepView } from './run-views';

const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

export function flowRunView(live: LiveRun, steps: readonly StepView[], logs: readonly RunLog[]) {
  const r = live.run;
  return {
    id: r.id,
    flowId: r.flowId,
    flowType: r.flowType,
    args: r.triggerData ?? null,
    phase: presentedStatus(live),
    startTime: iso(r.startedAt),
    endTime: iso(r.finishedAt),
    actions: steps.map((s) => ({
      id: s.stepId,
      phase: s.status,
      startTime: s.startedAt,
      endTime: s.finishedAt,
      name: s.name,
      type: s.type,
      output: s.output ?? null,
      error: s.error,
    })),
    outputs: r.outputs ?? null,
    logs: logs.map((l) => ({ timestamp: iso(l.ts), message: l.message, level: l.level, action: l.stepId })),
    tags: r.tags ?? [],
    createdAt: iso(r.createdAt),
    createdBy: r.createdBy,
    updatedAt: iso(r.updatedAt),
    updatedBy: r.updatedBy,
    reviewedBy: r.reviewedBy,
    reviewedAt: iso(r.reviewedAt),
  };
}

export type FlowRunView = ReturnType<typeof flowRunView>;
