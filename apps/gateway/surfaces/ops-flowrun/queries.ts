/** Reads behind FlowRun objects: runs that have a site (app), the definitions they ran with, and the offset page. */
import type { DataSource } from 'typeorm';
import { AppEntity, RunEntity } from '../../../../db/entities';
import type { Run } from '../../../../db/entities';
import { flowDefinitionRows } from '../../../../db/flow-versions';
import type { FlowDefinition } from '../../../../domain/flow-types';
import { findRun } from '../../runs/queries';

/** A FlowRun needs a site: runs started without an app are not FlowRuns. */
export async function findFlowRun(db: DataSource, accountId: string, id: string): Promise<Run | null> {
  const run = await findRun(db, accountId, id);
  return run && run.appId !== null ? run : null;
}

export async function siteExists(db: DataSource, accountId: string, siteId: string): Promise<boolean> {
  return db.getRepository(AppEntity).existsBy({ id: siteId, accountId });
}

/** The account's runs that have a site (or this site), newest first, `limit` from `offset`, and how many there are. */
export async function pageFlowRuns(
  db: DataSource,
  q: { accountId: string; siteId?: string; limit: number; offset: number },
): Promise<{ count: number; runs: Run[] }> {
  const qb = db.getRepository(RunEntity).createQueryBuilder('r').where('r.account_id = :accountId AND r.app_id IS NOT NULL', { accountId: q.accountId });
  if (q.siteId !== undefined) qb.andWhere('r.app_id = :siteId', { siteId: q.siteId });
  const [count, runs] = await Promise.all([
    qb.clone().getCount(),
    qb.orderBy('r.created_at', 'DESC').addOrderBy('r.id', 'DESC').offset(q.offset).limit(q.limit).getMany(),
  ]);
  return { count, runs };
}

export const definitionKey = (r: Pick<Run, 'flowId' | 'flowVersion'>): string => `${r.flowId}@${r.flowVersion}`;

/** The definitions the runs ran with (keyed by definitionKey), one query for a whole page. */
export async function definitionsOf(db: DataSource, accountId: string, runs: readonly Run[]): Promise<Map<string, FlowDefinition>> {
  const pinned = runs.filter((r) => r.flowVersion !== null);
  const out = new Map<string, FlowDefinition>();
  if (pinned.length === 0) return out;
  const rows = await flowDefinitionRows(
    db,
    accountId,
    pinned.map((r) => r.flowId),
    pinned.map((r) => r.flowVersion),
  );
  for (const r of rows) out.set(definitionKey({ flowId: r.flow_id, flowVersion: r.version }), r.definition);
  return out;
}
