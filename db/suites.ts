/** Queries on `suites` beyond the entity's repository. */
import type { EntityManager } from 'typeorm';
import { SuiteEntity, type Suite } from './entities';

/** The suites a flow belongs to (through the GIN index on `flow_ids`), for resolving a single flow's suite context. */
export function suitesOfFlow(m: EntityManager, accountId: string, flowId: string): Promise<Suite[]> {
  return m
    .getRepository(SuiteEntity)
    .createQueryBuilder('s')
    .where('s.accountId = :accountId AND s.flowIds @> :member::jsonb', { accountId, member: JSON.stringify([flowId]) })
    .orderBy('s.createdAt', 'ASC')
    .getMany();
}
