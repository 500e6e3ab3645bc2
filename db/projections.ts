/**
 * The one writer of the run projections (batches, runs, and through `StepRecords` step_runs,
 * run_logs, run_requests, step_outputs and run_artifacts), for every process: the worker's
 * activities, the gateway's trigger, runs reported by an outside executor, and read-repair. Writes
 * are keyed, so a retried, re-delivered or reset activity overwrites instead of duplicating.
 */
import { In, type EntityManager } from 'typeorm';
import { isOutputRef } from '../domain/output-refs';
import { isTerminalRun, RUN_STATUSES, TERMINAL_STEP_STATUSES, type RunStatus } from '../domain/statuses';
import { BatchEntity, RunEntity, StepRunEntity } from './entities';
import type { Json, Run } from './entities';
import { inChunks, StepRecords, type LogLine, type StepRow } from './step-records';

export { insertBatchRows, insertRunRows } from './batch-rows';
export type { ArtifactRow, LogLine, StepRow } from './step-records';

/** duration_ms is an integer column: a run started (as a client reported it) decades ago is capped, not an error. */
const MAX_INT = 2_147_483_647;

const OPEN_RUN_STATUSES = RUN_STATUSES.filter((s) => !isTerminalRun(s));
/** The open statuses as a SQL list. */
const OPEN_SQL = OPEN_RUN_STATUSES.map((s) => `'${s}'`).join(', ');
/** A JSON value as a \`jsonb\` parameter; null and undefined as SQL NULL, as TypeORM writes them. */
const jsonOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

/** How a run ended, as read-repair learns it from Temporal. */
export interface RunOutcome {
  status: RunStatus;
  /** `step` null: the step in flight is named. */
  error: { step: string | null; message: string } | null;
  finishedAt: Date;
  workflowRunId: string;
}

/** A run an outside executor reports: the run's fields, and its steps and log when sent (each replacing what was stored). */
export interface ExternalRun {
  id: string;
  fields: Partial<Run>;
  steps?: StepRow[];
  logs?: LogLine[];
}

export class Projections extends StepRecords {
  /**
   * A run's start in one statement: the row is marked running under its workflow run, its step
   * list seeded as \`queued\` (rows already there are left alone) and \`run.started\` logged once.
   * \`fromStep\` (a step's activity records it for its workflow): a waiting run stays waiting, and a
   * run its workflow run has already ended is left as it is (the attempt ran after a cancel); a reset
   * (another workflow run) reopens it as the workflow's own record does. True when the row was marked.
   */
  async runStartedWithSteps(runId: string, workflowRunId: string, steps: StepRow[], fromStep = false): Promise<boolean> {
    const now = this.clock();
    const status = fromStep ? `CASE WHEN status IN ('running', 'waiting') THEN status ELSE 'running' END` : `'running'`;
    const guard = fromStep ? ` AND (status IN (${OPEN_SQL}) OR workflow_run_id IS DISTINCT FROM $2)` : '';
    const [marked] = (await this.db.query(
      `WITH run AS (
         UPDATE runs SET status = ${status}, workflow_run_id = $2, started_at = COALESCE(started_at, $3), updated_at = $3 WHERE id = $1${guard} RETURNING 1),
       steps AS (
         INSERT INTO step_runs (run_id, step_id, position, name, type, status, attempts)
         SELECT $1, s.id, s.position, s.name, s.type, s.status, 0 FROM unnest($4::text[], $5::int[], $6::text[], $7::text[], $8::text[]) AS s (id, position, name, type, status)
         ON CONFLICT DO NOTHING),
       log AS (
         INSERT INTO run_logs (run_id, key, ts, level, message) VALUES ($1, 'run.started', $3, 'info', 'run started')
         ON CONFLICT DO NOTHING)
       SELECT count(*)::int AS n FROM run`,
      [runId, workflowRunId, now, steps.map((s) => s.id), steps.map((s) => s.position), steps.map((s) => s.name), steps.map((s) => s.type), steps.map((s) => s.status)],
    )) as { n: number }[];
    return (marked?.n ?? 0) > 0;
  }

  async runStatus(runId: string, status: 'running' | 'waiting'): Promise<void> {
    await this.db
      .createQueryBuilder()
      .update(RunEntity)
      .set({ status, updatedAt: this.clock() })
      .where('id = :runId AND status IN (:...open)', { runId, open: OPEN_RUN_STATUSES })
      .execute();
  }

  /**
   * A run's end: the steps given, then its row, \`run.finished\` and, when it was the batch's last
   * open run, \`batch.finished\` in one statement (\`flowruns_run_finished\`, migration
   * 1734000000000). With \`onlyOpenOf\` (a step's activity records it for its workflow run) nothing is
   * written unless the row is still open under that workflow run, and the steps only after: the
   * workflow's own record, which always writes, then stands. True when the row was written.
   */
  async runFinished(
    runId: string,
    result: { status: RunStatus; error: { step: string; message: string } | null; outputs: unknown; steps: StepRow[] },
    onlyOpenOf?: string,
  ): Promise<boolean> {
    const now = this.clock();
    // Steps first, so a run whose rows were deleted fails on their foreign key (RunGone).
    if (onlyOpenOf === undefined) await this.upsertSteps(runId, result.steps);
    const outputs = await this.outputsRecorded(runId, result.outputs);
    const message = `run ${result.status}${result.error ? `: ${result.error.step}: ${result.error.message}` : ''}`;
    const [ended] = (await this.db.query(`SELECT flowruns_run_finished($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7) AS written`, [
      runId,
      result.status,
      jsonOrNull(result.error),
      jsonOrNull(outputs),
      now,
      message,
      onlyOpenOf ?? null,
    ])) as { written: boolean }[];
    if (!ended?.written) return false;
    if (onlyOpenOf !== undefined) await this.upsertSteps(runId, result.steps);
    return true;
  }

  /** Logs \`batch.finished\` on the run that ended its batch (\`flowruns_batch_finished_if_last\`: under the batch row's lock, once). */
  private async batchFinishedIfLast(m: EntityManager, runId: string): Promise<void> {
    await m.query(`SELECT flowruns_batch_finished_if_last($1, NULL)`, [runId]);
  }

  /** A run's outputs with each large-output reference replaced by the step's recorded (masked) output. */
  private async outputsRecorded(runId: string, outputs: unknown): Promise<unknown> {
    if (!outputs || typeof outputs !== 'object') return outputs;
    const entries = Object.entries(outputs as Record<string, unknown>);
    const refs = entries.filter(([, v]) => isOutputRef(v)).map(([k]) => k);
    if (refs.length === 0) return outputs;
    const rows = await this.db.getRepository(StepRunEntity).find({ where: { runId, stepId: In(refs) }, select: { stepId: true, output: true } });
    const recorded = new Map(rows.map((r) => [r.stepId, r.output]));
    return Object.fromEntries(entries.map(([k, v]) => [k, isOutputRef(v) ? (recorded.get(k) ?? null) : v]));
  }

  /** Runs of a cancelled batch still queued at positions from `from` on (a large batch's chunks never reached them). */
  async queuedRunsCancelled(batchId: string, from: number): Promise<void> {
    const rows: { id: string }[] = await this.db.query(`SELECT id FROM runs WHERE batch_id = $1 AND position >= $2 AND status = 'queued' ORDER BY position`, [batchId, from]);
    await inChunks(rows.map((r) => r.id), (runIds) => this.runsCancelled(runIds));
  }

  /** Runs of a cancelled batch that never started. */
  async runsCancelled(runIds: string[]): Promise<void> {
    if (runIds.length === 0) return;
    const now = this.clock();
    await this.db.transaction(async (m) => {
      await m
        .createQueryBuilder()
        .update(RunEntity)
        .set({ status: 'cancelled', finishedAt: now, updatedAt: now })
        .where('id IN (:...runIds) AND status IN (:...open)', { runIds, open: OPEN_RUN_STATUSES })
        .execute();
      for (const runId of runIds) await this.log(runId, [{ key: 'run.finished', level: 'error', message: 'run cancelled before it started', ts: now }], m);
      await this.batchFinishedIfLast(m, runIds[0]!);
    });
  }

  /**
   * Creates (`existing` false) or updates a run an outside executor reports; its steps and log,
   * when sent, replace what was stored, and its `error` names its first failed step. False when
   * the run was created meanwhile by someone else, so nothing was written.
   */
  async externalRun(m: EntityManager, run: ExternalRun, existing: boolean): Promise<boolean> {
    if (existing) await m.getRepository(RunEntity).update({ id: run.id }, run.fields);
    else {
      const inserted = await m.createQueryBuilder().insert().into(RunEntity).values({ ...run.fields, id: run.id }).orIgnore().execute();
      if ((inserted.raw as unknown[]).length === 0) return false;
    }
    if (run.steps) await this.replaceSteps(m, run.id, run.steps);
    if (run.logs) await this.replaceLogs(m, run.id, run.logs);
    const status = run.fields.status;
    const failed = status === 'failed' || status === 'timed_out' ? await firstFailedStep(m, run.id) : null;
    const error = failed ? { step: failed.name, message: failed.error ?? `step ${status}` } : null;
    await m.getRepository(RunEntity).update({ id: run.id }, { error: error as Json });
    return true;
  }

  async runTagged(runId: string, tags: Run['tags'], updatedBy: string): Promise<void> {
    await this.db.getRepository(RunEntity).update({ id: runId }, { tags, updatedAt: this.clock(), updatedBy });
  }

  async runReviewed(runId: string, reviewedBy: string, reviewedAt: Date, updatedBy: string): Promise<void> {
    await this.db.getRepository(RunEntity).update({ id: runId }, { reviewedBy, reviewedAt, updatedBy });
  }

  /**
   * Read-repair: writes how the workflow ended and closes the steps left open, in one
   * transaction. The update is conditional, so a projection written meanwhile by the run's own
   * activity is not overwritten; `onlyIfQueued` limits it to a run that never started.
   * Answers the row as it now is.
   */
  async runCorrected(runId: string, o: RunOutcome, onlyIfQueued: boolean): Promise<Run | null> {
    return this.db.transaction(async (m) => {
      const overwritable = onlyIfQueued ? ['queued'] : OPEN_RUN_STATUSES;
      // TypeORM answers an UPDATE with [rows, rowCount].
      const [, changed]: [unknown[], number] = await m.query(
        `UPDATE runs SET
            status = $2,
            error = CASE WHEN $3::text IS NULL THEN NULL ELSE jsonb_build_object(
              'step', coalesce($4::text,
                (SELECT s.name FROM step_runs s WHERE s.run_id = runs.id AND s.status IN ('running', 'waiting')
                  ORDER BY s.position LIMIT 1), ''),
              'message', $3::text) END,
            finished_at = $5,
            duration_ms = CASE WHEN started_at IS NULL THEN NULL
                               ELSE LEAST(GREATEST(0, EXTRACT(EPOCH FROM ($5::timestamptz - started_at)) * 1000), ${MAX_INT})::int END,
            workflow_run_id = coalesce(nullif($6, ''), workflow_run_id),
            updated_at = now(),
            updated_by = 'temporal'
          WHERE id = $1 AND (status = ANY($7::text[]) OR ($8::boolean AND workflow_run_id IS DISTINCT FROM nullif($6, '')))
          RETURNING id`,
        [runId, o.status, o.error?.message ?? null, o.error?.step ?? null, o.finishedAt, o.workflowRunId, overwritable, !onlyIfQueued],
      );
      if (changed > 0) {
        await m.query(
          `UPDATE step_runs SET status = 'cancelled', finished_at = coalesce(finished_at, $2)
            WHERE run_id = $1 AND status <> ALL($3::text[])`,
          [runId, o.finishedAt, TERMINAL_STEP_STATUSES],
        );
        const message = `run ${o.status}${o.error?.message ? `: ${o.error.message}` : ''}`;
        await this.log(runId, [{ key: 'run.finished', level: o.status === 'succeeded' ? 'info' : 'error', message, ts: o.finishedAt }], m);
        await this.batchFinishedIfLast(m, runId);
      }
      return m.getRepository(RunEntity).findOneBy({ id: runId });
    });
  }

  /** Read-repair after a reset started a new workflow run: the run is open again, whatever the row said. */
  async runReopened(runId: string, workflowRunId: string): Promise<Run | null> {
    await this.db.query(
      `UPDATE runs SET status = 'running', workflow_run_id = $2, finished_at = NULL, duration_ms = NULL, error = NULL,
              updated_at = now(), updated_by = 'temporal'
        WHERE id = $1 AND workflow_run_id IS DISTINCT FROM $2`,
      [runId, workflowRunId],
    );
    return this.db.getRepository(RunEntity).findOneBy({ id: runId });
  }

  /** Deletes the run (steps, logs and requests cascade) and its batch when left empty; false when it was gone. */
  async runDeleted(run: Pick<Run, 'id' | 'accountId' | 'batchId'>): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const res = await m.getRepository(RunEntity).delete({ id: run.id, accountId: run.accountId });
      if (run.batchId)
        await m
          .createQueryBuilder()
          .delete()
          .from(BatchEntity)
          .where('id = :batchId AND NOT EXISTS (SELECT 1 FROM runs WHERE batch_id = :batchId)', { batchId: run.batchId })
          .execute();
      return (res.affected ?? 0) > 0;
    });
  }
}

/** The first failed step of a run, which the run's `error` names. */
async function firstFailedStep(m: EntityManager, runId: string): Promise<{ name: string; error: string | null } | null> {
  const rows: { name: string; error: string | null }[] = await m.query(
    `SELECT name, error FROM step_runs WHERE run_id = $1 AND status = 'failed' ORDER BY position, step_id LIMIT 1`,
    [runId],
  );
  return rows[0] ?? null;
}
