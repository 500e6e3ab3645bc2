/**
 * Pushes what operators do in Temporal into the run records, so the API shows it without a read
 * having to repair it: a flow-run workflow terminated or timed out (its own code never ran to
 * record it), or reset (a new workflow run whose code may not record its start again). Every
 * second the gateway asks Temporal's visibility for the workflows terminated or timed out, every
 * RESET_POLLS seconds also for the runs started since (a reset's new run is one of them), and
 * reconciles their runs. One gateway watches at a time, the holder of a Postgres advisory lock
 * (apps/gateway/shared/leader.ts); idempotent, so a moment of two watchers at a handover is harmless.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { RunEntity } from '../../../db/entities';
import { selectRows } from '../../../db/rows';
import { isTerminalRun } from '../../../domain/statuses';
import { WorkflowTypes } from '../../../workflows/definitions';
import type { ReconciledRow, RunReconciler } from './reconcile';

export interface TemporalWatcher {
  stop(): Promise<void>;
}

/** Visibility may lag a little behind closes; each poll looks this far back before the last one. */
const OVERLAP_MS = 15_000;
const LIST_LIMIT = 500;
const PAGE = 100;
/**
 * The running clause lists every flow run started in the window, hundreds a poll during a fan-out
 * (nearly all of them first runs that need nothing), so it is asked every this many polls only.
 */
const RESET_POLLS = 5;

export function watchTemporal(
  deps: { client: Client; dataSource: DataSource; reconciler: RunReconciler },
  options: { intervalMs?: number; onError?: (err: unknown) => void } = {},
): TemporalWatcher {
  const intervalMs = options.intervalMs ?? 1000;
  /**
   * `workflowId/runId/status` already seen, so the overlap does not redo them. The status is part
   * of the key: a workflow first seen running (nothing to do) must be looked at again once it is
   * terminated, within the same window.
   */
  const done = new Set<string>();
  let since = new Date(Date.now() - OVERLAP_MS);
  let startedSince = since;
  let polls = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const keyOf = (wf: WorkflowExecutionInfo): string => `${wf.workflowId}/${wf.runId}/${wf.status.name}`;

  /** Looks the runs of a page of workflows up in one read, and reconciles those their workflow does not keep current. */
  const settle = async (page: WorkflowExecutionInfo[]): Promise<void> => {
    if (page.length === 0) return;
    const rows = await selectRows<ReconciledRow>(
      deps.dataSource,
      RunEntity,
      'SELECT id, batch_id, status, external, workflow_id, workflow_run_id FROM runs WHERE id = ANY($1::text[])',
      [page.map((wf) => wf.workflowId.slice('run-'.length))],
    );
    const runs = new Map(rows.map((r) => [r.id, r]));
    for (const wf of page) {
      if (stopped) return;
      const run = runs.get(wf.workflowId.slice('run-'.length));
      // A run its own workflow keeps current (open, started by this workflow run or not yet recorded) needs nothing.
      const current = run && !isTerminalRun(run.status) && (run.workflowRunId === null || run.workflowRunId === wf.runId) && wf.status.name === 'RUNNING';
      if (run && !current) await deps.reconciler.reconcileOne(run);
      done.add(keyOf(wf));
    }
  };

  const poll = async (): Promise<void> => {
    const started = new Date();
    const withRunning = polls++ % RESET_POLLS === 0;
    const query =
      `WorkflowType = '${WorkflowTypes.flowRun}' AND (` +
      `((ExecutionStatus = 'Terminated' OR ExecutionStatus = 'TimedOut') AND CloseTime > '${since.toISOString()}')` +
      (withRunning ? ` OR (ExecutionStatus = 'Running' AND StartTime > '${startedSince.toISOString()}')` : '') +
      ')';
    let seen = 0;
    const pending: WorkflowExecutionInfo[] = [];
    for await (const wf of deps.client.workflow.list({ query, pageSize: PAGE })) {
      if (stopped || ++seen > LIST_LIMIT) break;
      if (done.has(keyOf(wf)) || !wf.workflowId.startsWith('run-')) continue;
      pending.push(wf);
      if (pending.length >= PAGE) await settle(pending.splice(0));
    }
    await settle(pending);
    if (done.size > 10_000) done.clear();
    since = new Date(started.getTime() - OVERLAP_MS);
    if (withRunning) startedSince = since;
  };

  const loop = async (): Promise<void> => {
    if (stopped) return;
    await poll().catch((err) => options.onError?.(err));
    if (!stopped) timer = setTimeout(() => void (current = loop()), intervalMs);
  };
  let current: Promise<void> = loop();

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
