/**
 * The read model every surface presents: a run's row as the reconciler left it, its live status,
 * and its steps with live progress merged in. Each surface spells it its own way (surfaces/).
 */
import type { Json, StepRun } from '../../../db/entities';
import type { BrowserDetails } from '../../../steps/browser';
import type { RunProgress } from '../../../domain/flow-types';
import type { RunStatus, StepStatus } from '../../../domain/statuses';
import type { LiveRun, ReconciledRow } from './reconcile';

export const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

/** A step as presented: its row, overridden by the live workflow state when there is one. */
export interface StepView {
  stepId: string;
  name: string;
  type: string;
  status: StepStatus;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  output: Json;
  error: string | null;
  /** What a browser or scan step did, action by action (steps/browser.ts `BrowserDetails`). */
  details?: Json;
}

/** What a browser or scan step recorded of itself, when the step is one. */
export const browserDetailsOf = (s: Pick<StepView, 'details'> | undefined): BrowserDetails | null =>
  s?.details && typeof s.details === 'object' && 'actions' in s.details ? (s.details as unknown as BrowserDetails) : null;

/**
 * Live progress wins for every step it knows (the rows lag the workflow by an activity);
 * rows it does not know (none, normally) follow in definition order.
 */
export function mergeSteps(rows: readonly StepRun[], progress: RunProgress | null): StepView[] {
  const fromRow = (r: StepRun): StepView => ({
    stepId: r.stepId,
    name: r.name,
    type: r.type,
    status: r.status,
    attempts: r.attempts,
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
    durationMs: r.durationMs,
    output: r.output ?? null,
    error: r.error,
    details: r.details ?? null,
  });
  if (!progress) return rows.map(fromRow);
  const byId = new Map(rows.map((r) => [r.stepId, r]));
  const live = progress.steps.map((s): StepView => {
    const row = byId.get(s.id);
    return {
      stepId: s.id,
      name: s.name,
      type: s.type,
      status: s.status,
      attempts: s.attempts,
      startedAt: s.startedAt ?? iso(row?.startedAt),
      finishedAt: s.finishedAt ?? iso(row?.finishedAt),
      durationMs: s.durationMs ?? row?.durationMs ?? null,
      output: s.output ?? row?.output ?? null,
      error: s.error ?? row?.error ?? null,
      details: row?.details ?? null,
    };
  });
  const known = new Set(progress.steps.map((s) => s.id));
  return [...live, ...rows.filter((r) => !known.has(r.stepId)).map(fromRow)];
}

/** The status a client sees: the live workflow's when it is ahead of the row. */
export const presentedStatus = (live: LiveRun<ReconciledRow>): RunStatus => live.liveStatus ?? live.run.status;
