/** Reads behind action runs: the account-wide keyset page that walks both ways, and the run an upsert locks. */
import type { DataSource, EntityManager } from 'typeorm';
import { FlowEntity, RunEntity } from '../../../../db/entities';
import type { Run } from '../../../../db/entities';
import type { TimeKey } from '../../../../db/keyset';
import type { RunStatus } from '../../../../domain/statuses';

export interface RunFilter {
  accountId: string;
  flowId?: string;
  status?: RunStatus;
}

export interface SlicePosition {
  /** 'f': older than the key (newest first); 'b': newer than the key, read oldest first and reversed. */
  dir: 'f' | 'b';
  /** null: from the newest ('f') or the oldest ('b') run. */
  key: TimeKey | null;
  /** Whether the run at `key` itself belongs to the slice. */
  inclusive: boolean;
}

function filtered(db: DataSource, f: RunFilter) {
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
export async function anyBeyond(db: DataSource, f: RunFilter, dir: 'f' | 'b', key: TimeKey, inclusive: boolean): Promise<boolean> {
  return filtered(db, f)
    .andWhere(`(r.created_at, r.id) ${bound(dir, inclusive)} (CAST(:ts AS timestamptz), :id)`, { ts: key[0], id: key[1] })
    .getExists();
}

export async function countRuns(db: DataSource, f: RunFilter): Promise<number> {
  return filtered(db, f).getCount();
}

/** The run, locked until the transaction ends, so concurrent reports of one run apply one after the other. */
export async function lockRun(m: EntityManager, accountId: string, publicId: string): Promise<Run | null> {
  return m.getRepository(RunEntity).findOne({ where: { accountId, publicId }, lock: { mode: 'pessimistic_write' } });
}

/** The flow's name, a deleted flow's included; the id when the account has no such flow. */
export async function flowNameOf(m: EntityManager, accountId: string, flowId: string): Promise<string> {
  const flow = await m.getRepository(FlowEntity).findOne({ where: { accountId, id: flowId }, withDeleted: true, select: { name: true } });
  return flow?.name ?? flowId;
}
