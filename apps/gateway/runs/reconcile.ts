/**
 * Keeps the run projections true to Temporal: a run cancelled, terminated, timed out
 * or reset from the Temporal UI or CLI writes nothing to Postgres itself, so the read side asks
 * Temporal about every run Postgres still thinks is open and corrects the row. Temporal being
 * unreachable never fails a read: the Postgres data is answered as it is.
 */
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { Run } from '../../../db/entities';
import { Projections, type RunOutcome } from '../../../db/projections';
import type { RunProgress, RunResult } from '../../../domain/flow-types';
import { isTerminalRun } from '../../../domain/statuses';
import type { RunStatus } from '../../../domain/statuses';
import { batchWorkflowId, progressQuery, runWorkflowId } from '../../../workflows/definitions';

export interface ReconcileDeps {
  dataSource: DataSource;
  client: Client;
  /** Where corrections are written; one over `dataSource` when absent. */
  projections?: Projections;
}

export interface ReconcileOptions {
  /** Upper bound of one Temporal call; past it the read answers from Postgres. */
  timeoutMs?: number;
  /** Upper bound of the progress query, which waits on a worker: with none polling it would hang. */
  queryTimeoutMs?: number;
  /** Temporal calls in flight at once for a batch or a page. */
  concurrency?: number;
}

/** The columns of a run the reconciler reads (a batch's status selects no more: queries.ts `RunSummary`). */
export type ReconciledRow = Pick<Run, 'id' | 'batchId' | 'status' | 'external' | 'workflowId' | 'workflowRunId'>;

/** A run as the API presents it: the (possibly corrected) row and what the live workflow says. */
export interface LiveRun<R extends ReconciledRow = Run> {
  run: R;
  /** Status of the running workflow when it is ahead of the row (e.g. started, row still queued). */
  liveStatus: RunStatus | null;
  /** Live step states, answered by the workflow's progress query (run detail only). */
  progress: RunProgress | null;
}

const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_QUERY_TIMEOUT_MS = 1000;
const DEFAULT_CONCURRENCY = 8;
const RUNNING_BATCH_TTL_MS = 1000;
const CLOSED = ['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT'] as const;
type ClosedStatus = (typeof CLOSED)[number];

/** Runs at most `limit` tasks at once, keeping the order of the results. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class RunReconciler {
  private readonly timeoutMs: number;
  private readonly queryTimeoutMs: number;
  private readonly concurrency: number;
  private readonly projections: Projections;
  private readonly runningBatches = new Map<string, { until: number; description: Promise<WorkflowExecutionDescription | null> }>();

  constructor(
    private readonly deps: ReconcileDeps,
    options: ReconcileOptions = {},
  ) {
    this.projections = deps.projections ?? new Projections(deps.dataSource);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.queryTimeoutMs = options.queryTimeoutMs ?? Math.min(this.timeoutMs, DEFAULT_QUERY_TIMEOUT_MS);
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  }

  /**
   * For a batch or a page of runs: only the rows Postgres says are open are checked, at most
   * `concurrency` at a time, so a finished batch costs Temporal nothing; the open runs of a batch
   * still running cost one describe of the batch between them.
   */
  async reconcileMany<R extends ReconciledRow>(runs: readonly R[]): Promise<LiveRun<R>[]> {
    const batches = new Map<string, Promise<WorkflowExecutionDescription | null>>();
    const describeBatch = (batchId: string) => {
      let p = batches.get(batchId);
      if (!p) batches.set(batchId, (p = this.describeRunningBatch(batchId)));
      return p;
    };
    return mapBounded(runs, this.concurrency, async (run) => {
      if (run.external || isTerminalRun(run.status)) return { run, liveStatus: null, progress: null };
      // While its batch runs, an open run's row is kept by its own workflow, and what operators do to it
      // in Temporal (terminate, reset) by the gateway's watcher (watch.ts): one describe of the batch
      // answers for all its runs, so polling a batch's status costs Temporal one call, not one a run.
      if (run.batchId && (await describeBatch(run.batchId))?.status.name === 'RUNNING') return { run, liveStatus: null, progress: null };
      return this.check(run, describeBatch, false);
    });
  }

  /**
   * For one run's detail: terminal rows are checked too, since a reset of a finished run in the
   * Temporal UI shows only as a new workflow run id; a running workflow is asked for its steps.
   */
  async reconcileOne<R extends ReconciledRow>(run: R): Promise<LiveRun<R>> {
    if (run.external) return { run, liveStatus: null, progress: null };
    return this.check(run, (batchId) => this.describe(batchWorkflowId(batchId)).catch(() => null), true);
  }

  private async check<R extends ReconciledRow>(
    run: R,
    describeBatch: (batchId: string) => Promise<WorkflowExecutionDescription | null>,
    withProgress: boolean,
  ): Promise<LiveRun<R>> {
    const unchanged: LiveRun<R> = { run, liveStatus: null, progress: null };
    const workflowId = run.workflowId ?? runWorkflowId(run.id);
    let desc: WorkflowExecutionDescription;
    try {
      desc = await this.describe(workflowId);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError) || run.status !== 'queued' || !run.batchId) return unchanged;
      const batch = await describeBatch(run.batchId);
      if (!batch || !isClosed(batch.status.name)) return unchanged;
      const corrected = await this.correct(run, {
        status: 'cancelled',
        error: null,
        finishedAt: batch.closeTime ?? new Date(),
        workflowRunId: run.workflowRunId ?? '',
      }, true);
      return { run: corrected, liveStatus: null, progress: null };
    }
    const status = desc.status.name;
    const sameRun = run.workflowRunId === null || run.workflowRunId === desc.runId;
    if (status === 'RUNNING') {
      let current = run;
      if (!sameRun) current = await this.markReset(run, desc.runId);
      const progress = withProgress ? await this.progress(workflowId, desc.runId) : null;
      const live = progress?.status ?? (current.status === 'queued' ? 'running' : null);
      const liveStatus = live && !isTerminalRun(live) && live !== current.status ? live : null;
      return { run: current, liveStatus, progress };
    }
    if (!isClosed(status) || (isTerminalRun(run.status) && sameRun)) return unchanged;
    try {
      const outcome = await this.outcome(desc, status);
      return { run: await this.correct(run, outcome, false), liveStatus: null, progress: null };
    } catch {
      return unchanged;
    }
  }

  /**
   * A batch workflow's description; one that answered RUNNING is kept for RUNNING_BATCH_TTL_MS, so
   * clients polling a running batch (many at once, or every few hundred ms) cost Temporal one
   * describe a second between them. A batch an operator ends shows within that second, as the
   * watcher (watch.ts) shows what is done to its runs.
   */
  private describeRunningBatch(batchId: string): Promise<WorkflowExecutionDescription | null> {
    const now = Date.now();
    const kept = this.runningBatches.get(batchId);
    if (kept && kept.until > now) return kept.description;
    const description = this.describe(batchWorkflowId(batchId)).catch(() => null);
    if (this.runningBatches.size >= 10_000) this.runningBatches.clear();
    this.runningBatches.set(batchId, { until: now + RUNNING_BATCH_TTL_MS, description });
    void description.then((d) => {
      if (d?.status.name !== 'RUNNING' && this.runningBatches.get(batchId)?.description === description) this.runningBatches.delete(batchId);
    });
    return description;
  }

  private describe(workflowId: string): Promise<WorkflowExecutionDescription> {
    return this.deps.client.withDeadline(Date.now() + this.timeoutMs, () => this.deps.client.workflow.getHandle(workflowId).describe());
  }

  private async progress(workflowId: string, runId: string): Promise<RunProgress | null> {
    try {
      return await this.deps.client.withDeadline(Date.now() + this.queryTimeoutMs, () =>
        this.deps.client.workflow.getHandle(workflowId, runId).query(progressQuery),
      );
    } catch {
      return null;
    }
  }

  /** What a closed workflow ended with; its result or failure is read from its history. */
  private async outcome(desc: WorkflowExecutionDescription, status: ClosedStatus): Promise<RunOutcome> {
    const base = { finishedAt: desc.closeTime ?? new Date(), workflowRunId: desc.runId };
    const handle = this.deps.client.workflow.getHandle(desc.workflowId, desc.runId, { followRuns: false });
    let result: unknown;
    let failure: string | null = null;
    try {
      result = await this.deps.client.withDeadline(Date.now() + this.timeoutMs, () => handle.result());
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      failure = err.cause?.message || err.message;
    }
    switch (status) {
      case 'COMPLETED': {
        const r = (result ?? {}) as Partial<RunResult>;
        const finalStatus = r.status && isTerminalRun(r.status) ? r.status : 'succeeded';
        return { ...base, status: finalStatus, error: r.error ?? null };
      }
      case 'FAILED':
        return { ...base, status: 'failed', error: { step: null, message: failure ?? 'workflow failed' } };
      case 'CANCELLED':
        return { ...base, status: 'cancelled', error: null };
      case 'TERMINATED': {
        const by = await this.terminatedBy(handle).catch(() => null);
        const reason = by?.reason || failure || 'no reason given';
        return { ...base, status: 'cancelled', error: { step: null, message: `terminated in Temporal${by?.identity ? ` by ${by.identity}` : ''}: ${reason}` } };
      }
      case 'TIMED_OUT':
        return { ...base, status: 'timed_out', error: { step: null, message: 'timed out in Temporal' } };
    }
  }

  /** Who terminated the workflow and why, from its last history event. */
  private async terminatedBy(handle: ReturnType<Client['workflow']['getHandle']>): Promise<{ identity?: string; reason?: string } | null> {
    const history = await this.deps.client.withDeadline(Date.now() + this.timeoutMs, () => handle.fetchHistory());
    const last = history.events?.[history.events.length - 1]?.workflowExecutionTerminatedEventAttributes;
    return last ? { identity: last.identity ?? undefined, reason: last.reason ?? undefined } : null;
  }

  /** Writes the outcome; a failed write leaves the row as it was, and the next read tries again. */
  private async correct<R extends ReconciledRow>(run: R, o: RunOutcome, onlyIfQueued: boolean): Promise<R> {
    return updated(run, await this.projections.runCorrected(run.id, o, onlyIfQueued).catch(() => null));
  }

  /** A reset started a new workflow run: the run is open again, whatever the row said. */
  private async markReset<R extends ReconciledRow>(run: R, workflowRunId: string): Promise<R> {
    return updated(run, await this.projections.runReopened(run.id, workflowRunId).catch(() => null));
  }
}

/** `run` with the columns it has taken from the row written back, or as it was when the write failed. */
function updated<R extends ReconciledRow>(run: R, written: Run | null): R {
  if (!written) return run;
  const out = { ...run };
  for (const k of Object.keys(run) as (keyof R)[]) out[k] = (written as unknown as R)[k];
  return out;
}

const isClosed = (s: string): s is ClosedStatus => (CLOSED as readonly string[]).includes(s);
