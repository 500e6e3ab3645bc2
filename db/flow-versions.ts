/** Reads of `flow_versions` beyond the entity's repository (db/entities/flows.ts); a large batch's reads: db/batch-plans.ts. */
import type { DataSource, EntityManager } from 'typeorm';
import type { FlowDefinition } from '../domain/flow-types';

type Db = DataSource | EntityManager;

/** The definitions of the account's flows at the given versions (`flowIds[i]` at `versions[i]`), a row per version found. */
export async function flowDefinitionRows(
  db: Db,
  accountId: string,
  flowIds: string[],
  versions: (number | null)[],
): Promise<{ flow_id: string; version: number; definition: FlowDefinition }[]> {
  return db.query(
    `SELECT fv.flow_id, fv.version, fv.definition
       FROM flow_versions fv
       JOIN unnest($2::text[], $3::int[]) AS want(flow_id, version) ON want.flow_id = fv.flow_id AND want.version = fv.version
      WHERE fv.account_id = $1`,
    [accountId, flowIds, versions],
  );
}
