/**
 * Pushes what operators do in Temporal into the run records, so the API shows it without a read
 * having to repair it: a flow-run workflow terminated or timed out (its own code never ran to
 * record it), or reset (a new workflow run whose code may not record its start again). Every
 * second the gateway asks Temporal's visibility for such workflows and reconciles their runs.
 * Idempotent: several gateways may watch at once.
 */
import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { RunEntity } from '../../../db/entities';
import { isTerminalRun } from '../../../domain/statuses';
import { flowRun } from '../../../workflows';
import type { RunReconciler } from './reconcile';

export interface TemporalWatcher {
  stop(): Promise<void>;
}

/** Visibility may lag a little behind closes; each poll looks this far back before the last one. */
const OVERLAP_MS = 15_000;
const LIST_LIMIT = 500;

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
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const poll = async (): Promise<void> => {
    const started = new Date();
    const after = since.toISOString();
    const query =
      `WorkflowType = '${flowRun.name}' AND (` +
      `((ExecutionStatus = 'Terminated' OR ExecutionStatus = 'TimedOut') AND CloseTime > '${after}') OR ` +
      `(ExecutionStatus = 'Running' AND StartTime > '${after}'))`;
    let seen = 0;
    for await (const wf of deps.client.workflow.list({ query, pageSize: 100 })) {
      if (stopped || ++seen > LIST_LIMIT) break;
      const key = `${wf.workflowId}/${wf.runId}/${wf.status.name}`;
      if (done.has(key) || !wf.workflowId.startsWith('run-')) continue;
      const run = await deps.dataSource.getRepository(RunEntity).findOneBy({ id: wf.workflowId.slice('run-'.length) });
      // A run its own workflow keeps current (open, started by this workflow run or not yet recorded) needs nothing.
      const current = run && !isTerminalRun(run.status) && (run.workflowRunId === null || run.workflowRunId === wf.runId) && wf.status.name === 'RUNNING';
      if (run && !current) await deps.reconciler.reconcileOne(run);
      done.add(key);
    }
    if (done.size > 10_000) done.clear();
    since = new Date(started.getTime() - OVERLAP_MS);
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
