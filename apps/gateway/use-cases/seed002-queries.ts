/**
 * Queries of seed 002's flow-runs over the shared runs tables: an account-wide keyset page that
 * walks both ways, and the steps and logs of a whole page in one query each.
 */
import { In, type DataSource, type EntityManager } from 'typeorm';
import { RunEntity, RunLogEntity, StepRunEntity } from '../../../db/entities';
import type { Run, RunLog, StepRun } from '../../../db/entities';
import type { RunStatus } from '../../../domain/statuses';

/** `(created_at, id)` of a run, as an ISO string (millisecond column) and the id. */
export type RunKey = [string, string];

export interface RunFilter {
  accountId: string;
  flowId?: string;
  status?: RunStatus;
}

export interface SlicePosition {
  /** 'f': older than the key (newest first); 'b': newer than the key, read oldest first and reversed. */
  dir: 'f' | 'b';
  /** null: from the newest ('f') or the oldest ('b') run. */
  key: RunKey | null;
  /** Whether the run at `key` itself belongs to the slice. */
  inclusive: boolean;
}

function filtered(db: DataSource | EntityManager, f: RunFilter) {
  const qb = db.getRepository(RunEntity).createQueryBuilder('r').where('r.account_id = :accountId', { accountId: f.accountId });
  if (f.flowId !== undefined) qb.andWhere('r.flow_id = :flowId', { flowId: f.flowId });
  if (f.status !== undefined) qb.andWhere('r.status = :status', { status: f.status });
  return qb;
}

function bound(dir: 'f' | 'b', inclusive: boolean): string {
  return `${dir === 'f' ? '<' : '>'}${inclusive ? '=' : ''}`;
}

/**
 * Up to `size` runs from `pos`, always answered newest first, and whether more lie beyond them
 * in the direction read. Both directions are a range scan of runs_account_page / runs_flow_page.
 */
export async function runSlice(db: DataSource, f: RunFilter, pos: SlicePosition, size: number): Promise<{ runs: Run[]; more: boolean }> {
  const qb = filtered(db, f);
  if (pos.key)
    qb.andWhere(`(r.created_at, r.id) ${bound(pos.dir, pos.inclusive)} (CAST(:ts AS timestamptz), :id)`, { ts: pos.key[0], id: pos.key[1] });
  const order = pos.dir === 'f' ? 'DESC' : 'ASC';
  const rows = await qb.orderBy('r.created_at', order).addOrderBy('r.id', order).limit(size + 1).getMany();
  const runs = rows.slice(0, size);
  if (pos.dir === 'b') runs.reverse();
  return { runs, more: rows.length > size };
}

/** Whether any run lies strictly (or, `inclusive`, also at) beyond `key` in direction `dir`. */
export async function anyBeyond(db: DataSource, f: RunFilter, dir: 'f' | 'b', key: RunKey, inclusive: boolean): Promise<boolean> {
  return filtered(db, f)
    .andWhere(`(r.created_at, r.id) ${bound(dir, inclusive)} (CAST(:ts AS timestamptz), :id)`, { ts: key[0], id: key[1] })
    .getExists();
}

export async function countRuns(db: DataSource, f: RunFilter): Promise<number> {
  return filtered(db, f).getCount();
}

export const runKey = (run: Run): RunKey => [run.createdAt.toISOString(), run.id];

/** Step rows of several runs at once, in position order. */
export async function stepsOfRuns(db: DataSource, runIds: string[]): Promise<Map<string, StepRun[]>> {
  const out = new Map<string, StepRun[]>(runIds.map((id) => [id, []]));
  if (runIds.length === 0) return out;
  const rows = await db.getRepository(StepRunEntity).find({ where: { runId: In(runIds) }, order: { position: 'ASC', stepId: 'ASC' } });
  for (const row of rows) out.get(row.runId)?.push(row);
  return out;
}

/** The first `perRun` log lines of each run, in time order; one windowed query for a whole page. */
export async function logsOfRuns(db: DataSource, runIds: string[], perRun: number): Promise<Map<string, RunLog[]>> {
  const out = new Map<string, RunLog[]>(runIds.map((id) => [id, []]));
  if (runIds.length === 0) return out;
  const rows: { run_id: string; key: string; ts: Date; level: RunLog['level']; step_id: string | null; message: string }[] = await db.query(
    `SELECT run_id, key, ts, level, step_id, message FROM (
        SELECT l.*, row_number() OVER (PARTITION BY l.run_id ORDER BY l.ts, l.key) AS n
          FROM run_logs l WHERE l.run_id = ANY($1::text[])) x
      WHERE n <= $2 ORDER BY run_id, ts, key`,
    [runIds, perRun],
  );
  for (const r of rows)
    out.get(r.run_id)?.push({ runId: r.run_id, key: r.key, ts: new Date(r.ts), level: r.level, stepId: r.step_id, message: r.message });
  return out;
}

export async function logsOfRun(db: DataSource, runId: string, limit: number): Promise<RunLog[]> {
  return db.getRepository(RunLogEntity).find({ where: { runId }, order: { ts: 'ASC', key: 'ASC' }, take: limit });
}

/** The first failed step of a run, which seed 000 and 004 name in the run's `error`. */
export async function firstFailedStep(m: EntityManager, runId: string): Promise<{ name: string; error: string | null } | null> {
  const rows: { name: string; error: string | null }[] = await m.query(
    `SELECT name, error FROM step_runs WHERE run_id = $1 AND status = 'failed' ORDER BY position, step_id LIMIT 1`,
    [runId],
  );
  return rows[0] ?? null;
}
