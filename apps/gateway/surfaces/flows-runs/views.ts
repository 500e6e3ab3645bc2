/**
 * The per-flow runs contract's responses (docs/api-contracts.md): camelCase fields, statuses in
 * upper case, durations in milliseconds. Each view returns its schema's type.
 */
import { z } from 'zod';
import type { Run } from '../../../../db/entities';
import { upperCaseStatus } from '../../../../domain/statuses';
import type { LiveRun } from '../../runs/reconcile';
import { iso, presentedStatus, type StepView } from '../../runs/views';
import type { FlowRunStats, StepCounts } from './queries';

const isoOrNull = z.string().nullable();

const flowRunItemSchema = z.object({
  id: z.string(),
  flowId: z.string(),
  status: z.string(),
  duration: z.number().nullable(),
  triggerType: z.string(),
  startTime: isoOrNull,
  finishTime: isoOrNull,
  stepsCount: z.number(),
  stepsSucceeded: z.number(),
  error: z.object({ step: z.string(), message: z.string() }).optional(),
  /** Succeeded as the rerun (or resumption) of a run that failed or timed out: passed on a retry. */
  flaky: z.boolean(),
});

export const flowRunPageSchema = z.object({ data: z.array(flowRunItemSchema), cursor: z.string().nullable(), hasMore: z.boolean() });

export const flowRunDetailSchema = flowRunItemSchema.omit({ stepsCount: true, stepsSucceeded: true }).extend({
  steps: z.array(z.object({ name: z.string(), status: z.string(), duration: z.number().nullable(), output: z.unknown() })),
});

export const flowRunStatsSchema = z.object({
  totalRuns: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  /** Runs that succeeded as the rerun (or resumption) of a failed or timed-out run; also counted in `succeeded`. */
  flaky: z.number(),
  successRate: z.number(),
  averageDuration: z.number(),
  lastRun: isoOrNull,
  p50Duration: z.number(),
  p95Duration: z.number(),
});

export const triggeredRunSchema = z.object({ id: z.string(), flowId: z.string(), status: z.literal('RUNNING'), startTime: z.string() });

/** The answer to a trigger: RUNNING from the start, as the contract has no queued state to report. */
export function triggeredRunView(run: Pick<Run, 'id' | 'flowId' | 'createdAt'>): z.infer<typeof triggeredRunSchema> {
  return { id: run.id, flowId: run.flowId, status: 'RUNNING', startTime: run.createdAt.toISOString() };
}

/** The contract has no queued-at-trigger timestamp, so a run not started yet reports when it was triggered. */
const startTime = (r: Run): string | null => iso(r.startedAt ?? r.createdAt);

const errorOf = (r: Run) => (r.error ? { error: { step: r.error.step, message: r.error.message } } : {});

/** The fields a list item and a run's detail share. */
function common(live: LiveRun) {
  const r = live.run;
  return {
    id: r.publicId,
    flowId: r.flowId,
    status: upperCaseStatus(presentedStatus(live)),
    duration: r.durationMs,
    triggerType: r.source.toUpperCase(),
    startTime: startTime(r),
    finishTime: iso(r.finishedAt),
    flaky: r.flaky === true && presentedStatus(live) === 'succeeded',
  };
}

export function flowRunItemView(live: LiveRun, counts: StepCounts | undefined): z.infer<typeof flowRunItemSchema> {
  return { ...common(live), stepsCount: counts?.total ?? 0, stepsSucceeded: counts?.succeeded ?? 0, ...errorOf(live.run) };
}

export function flowRunDetailView(live: LiveRun, steps: readonly StepView[]): z.infer<typeof flowRunDetailSchema> {
  return {
    ...common(live),
    steps: steps.map((s) => ({ name: s.name, status: upperCaseStatus(s.status), duration: s.durationMs, output: s.output })),
    ...errorOf(live.run),
  };
}

const ms = (n: number | null): number => (n === null ? 0 : Math.round(n));

/** A flow without finished runs reports 0 durations rather than null, as its numbers are. */
export function flowRunStatsView(s: FlowRunStats): z.infer<typeof flowRunStatsSchema> {
  return {
    totalRuns: s.totalRuns,
    succeeded: s.succeeded,
    failed: s.failed,
    flaky: s.flaky,
    successRate: s.totalRuns === 0 ? 0 : Math.round((s.succeeded * 1000) / s.totalRuns) / 10,
    averageDuration: ms(s.averageDuration),
    lastRun: s.lastRun ? new Date(s.lastRun).toISOString() : null,
    p50Duration: ms(s.p50Duration),
    p95Duration: ms(s.p95Duration),
  };
}
