/**
 * The action-run object (docs/api-contracts.md): a platform run (row plus live Temporal state)
 * in camelCase, with the platform's status words as `phase` and the step runs as `actions`.
 */
import { z } from 'zod';
import type { RunLog } from '../../../../db/entities';
import { RUN_STATUSES, STEP_STATUSES } from '../../../../domain/statuses';
import type { LiveRun } from '../../runs/reconcile';
import { iso, presentedStatus, type StepView } from '../../runs/views';

const isoOrNull = z.string().nullable();

export const actionRunSchema = z.object({
  id: z.string(),
  flowId: z.string(),
  flowType: z.string(),
  args: z.unknown(),
  phase: z.enum(RUN_STATUSES),
  startTime: isoOrNull,
  endTime: isoOrNull,
  actions: z.array(
    z.object({
      id: z.string(),
      phase: z.enum(STEP_STATUSES),
      startTime: isoOrNull,
      endTime: isoOrNull,
      name: z.string(),
      type: z.string(),
      output: z.unknown(),
      error: z.string().nullable(),
    }),
  ),
  outputs: z.unknown(),
  logs: z.array(z.object({ timestamp: isoOrNull, message: z.string(), level: z.string(), action: z.string().nullable() })),
  tags: z.array(z.object({ key: z.string(), value: z.string() })),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  updatedAt: z.string(),
  updatedBy: z.string().nullable(),
  reviewedBy: z.string().nullable(),
  reviewedAt: isoOrNull,
});
export type ActionRun = z.infer<typeof actionRunSchema>;

export const actionRunPageSchema = z.object({
  items: z.array(actionRunSchema),
  total: z.number(),
  current_page: z.string(),
  current_page_backwards: z.string(),
  previous_page: z.string().nullable(),
  next_page: z.string().nullable(),
});

export function actionRunView(live: LiveRun, steps: readonly StepView[], logs: readonly RunLog[]): ActionRun {
  const r = live.run;
  return {
    id: r.publicId,
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
    createdAt: r.createdAt.toISOString(),
    createdBy: r.createdBy,
    updatedAt: r.updatedAt.toISOString(),
    updatedBy: r.updatedBy,
    reviewedBy: r.reviewedBy,
    reviewedAt: iso(r.reviewedAt),
  };
}
