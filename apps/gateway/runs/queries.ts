/**
 * Reads of the run projections every surface shares. Each query is scoped by account, or by a
 * run already found in the account, so another account's batch or run is indistinguishable
 * from one that does not exist.
 */
import { In, type DataSource } from 'typeorm';
import { BatchEntity, RunEntity, RunLogEntity, StepRunEntity } from '../../../db/entities';
import type { Batch, Run, RunLog, StepRun } from '../../../db/entities';
import { fastQuery, selectRows } from '../../../db/rows';
import { firstLogRowsOfRuns } from '../../../db/run-logs';

export async function findBatch(db: DataSource, accountId: string, batchId: string): Promise<Batch | null> {
  const [batch] = await selectRows<Batch>(db, BatchEntity, 'SELECT * FROM batches WHERE id = $1 AND account_id = $2', [batchId, accountId]);
  return batch ?? null;
}

/** What a batch's status shows of each run and the reconciler reads: none of its definitions, variables or outputs. */
export type RunSummary = Pick<
  Run,
  'id' | 'publicId' | 'accountId' | 'batchId' | 'position' | 'flowId' | 'flowName' | 'status' | 'error' | 'external' | 'workflowId' | 'workflowRunId' | 'startedAt' | 'finishedAt' | 'durationMs' | 'flaky'
>;

/** What a batch's status shows of the batch itself. */
export type BatchHead = Pick<Batch, 'id' | 'source' | 'actor' | 'scheduleId' | 'createdAt'>;

/** The batch's own columns only in its first row: pg would parse its actor (jsonb) and created_at once a run. */
const BATCH_STATUS_SQL = `
  SELECT b.id AS "bId",
         CASE WHEN row_number() OVER w = 1 THEN b.source END AS "bSource",
         CASE WHEN row_number() OVER w = 1 THEN b.actor END AS "bActor",
         CASE WHEN row_number() OVER w = 1 THEN b.schedule_id END AS "bScheduleId",
         CASE WHEN row_number() OVER w = 1 THEN b.created_at END AS "bCreatedAt",
         r.id, r.public_id AS "publicId", r.account_id AS "accountId", r.batch_id AS "batchId", r.position, r.flow_id AS "flowId",
         r.flow_name AS "flowName", r.status, r.error, r.external, r.workflow_id AS "workflowId", r.workflow_run_id AS "workflowRunId",
         r.started_at AS "startedAt", r.finished_at AS "finishedAt", r.duration_ms AS "durationMs", r.flaky
    FROM batches b LEFT JOIN runs r ON r.batch_id = b.id
   WHERE b.id = $1 AND b.account_id = $2
  WINDOW w AS (ORDER BY r.position, r.id)
   ORDER BY r.position, r.id`;

/**
 * A batch of the account and its runs in position order, as summaries, in one statement: the read
 * every status poll makes (its columns named as the properties, each row copied once). Null when
 * the account has no such batch.
 */
export async function findBatchStatus(db: DataSource, accountId: string, batchId: string): Promise<{ batch: BatchHead; runs: RunSummary[] } | null> {
  const rows = await fastQuery<BatchStatusRow>(db, BATCH_STATUS_SQL, [batchId, accountId]);
  const head = rows[0];
  if (!head) return null;
  const batch: BatchHead = { id: head.bId, source: head.bSource, actor: head.bActor, scheduleId: head.bScheduleId, createdAt: head.bCreatedAt };
  const runs: RunSummary[] = [];
  for (const r of rows) {
    if (r.id === null) continue; // the batch has no runs
    runs.push({
      id: r.id,
      publicId: r.publicId,
      accountId: r.accountId,
      batchId: r.batchId,
      position: r.position,
      flowId: r.flowId,
      flowName: r.flowName,
      status: r.status,
      error: r.error,
      external: r.external,
      workflowId: r.workflowId,
      workflowRunId: r.workflowRunId,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      durationMs: r.durationMs,
      flaky: r.flaky,
    });
  }
  return { batch, runs };
}

type BatchStatusRow = Omit<RunSummary, 'id'> & {
  id: string | null;
  bId: string;
  bSource: string;
  bActor: Batch['actor'];
  bScheduleId: string | null;
  bCreatedAt: Date;
};

export async function findBatchRuns(db: DataSource, batchId: string): Promise<Run[]> {
  return db.getRepository(RunEntity).find({ where: { batchId }, order: { position: 'ASC', id: 'ASC' } });
}

/** A run by the id its account knows it by (its public id). */
export async function findRun(db: DataSource, accountId: string, runId: string): Promise<Run | null> {
  const [run] = await selectRows<Run>(db, RunEntity, 'SELECT * FROM runs WHERE public_id = $1 AND account_id = $2', [runId, accountId]);
  return run ?? null;
}

export async function findSteps(db: DataSource, runId: string): Promise<StepRun[]> {
  return selectRows<StepRun>(db, StepRunEntity, 'SELECT * FROM step_runs WHERE run_id = $1 ORDER BY position, step_id', [runId]);
}

export async function findStep(db: DataSource, runId: string, stepId: string): Promise<StepRun | null> {
  return db.getRepository(StepRunEntity).findOneBy({ runId, stepId });
}

/** Step rows of several runs at once, in position order. */
export async function stepsOfRuns(db: DataSource, runIds: string[]): Promise<Map<string, StepRun[]>> {
  const out = new Map<string, StepRun[]>(runIds.map((id) => [id, []]));
  if (runIds.length === 0) return out;
  const rows = await db.getRepository(StepRunEntity).find({ where: { runId: In(runIds) }, order: { position: 'ASC', stepId: 'ASC' } });
  for (const row of rows) out.get(row.runId)?.push(row);
  return out;
}

/** Log lines of several runs in time order, the first `perRun` of each when given; one query for a whole page. */
export async function logsOfRuns(db: DataSource, runIds: string[], perRun?: number): Promise<Map<string, RunLog[]>> {
  const out = new Map<string, RunLog[]>(runIds.map((id) => [id, []]));
  if (runIds.length === 0) return out;
  if (perRun === undefined) {
    const rows = await db.getRepository(RunLogEntity).find({ where: { runId: In(runIds) }, order: { ts: 'ASC', key: 'ASC' } });
    for (const l of rows) out.get(l.runId)?.push(l);
    return out;
  }
  const rows = await firstLogRowsOfRuns(db, runIds, perRun);
  for (const r of rows)
    out.get(r.run_id)?.push({ runId: r.run_id, key: r.key, ts: new Date(r.ts), level: r.level, stepId: r.step_id, message: r.message });
  return out;
}

/** The first `limit` log lines of one run, in time order. */
export async function logsOfRun(db: DataSource, runId: string, limit: number): Promise<RunLog[]> {
  return db.getRepository(RunLogEntity).find({ where: { runId }, order: { ts: 'ASC', key: 'ASC' }, take: limit });
}
