/**
 * Suites: ordered member flows, an optional auth flow run first inside each member's run, and
 * suite-scoped variables. Membership is looked up through a GIN index on `flow_ids`.
 */
import { randomUUID } from 'node:crypto';
import { In, IsNull, type DataSource, type EntityManager } from 'typeorm';
import { FlowEntity, SuiteEntity, type Suite } from '../../../db/entities';
import { badRequest, conflict, notFound } from '../http/errors';
import { keysetPage, type Page, type PageQuery } from '../http/paging';
import { isUniqueViolation } from './db-errors';

export interface SuiteInput {
  id?: string;
  name: string;
  flowIds: string[];
  authFlowId?: string | null;
  variables: Record<string, string>;
}

export interface SuiteDto {
  id: string;
  name: string;
  flowIds: string[];
  authFlowId: string | null;
  variables: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

const toDto = (s: Suite): SuiteDto => ({
  id: s.id,
  name: s.name,
  flowIds: s.flowIds,
  authFlowId: s.authFlowId,
  variables: s.variables,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
});

/** Every referenced flow must exist, once, and the auth flow cannot also be a member. */
async function checkFlows(m: EntityManager, accountId: string, input: SuiteInput): Promise<void> {
  const ids = [...input.flowIds, ...(input.authFlowId ? [input.authFlowId] : [])];
  const found = new Set(
    (await m.find(FlowEntity, { where: { accountId, id: In(ids), deletedAt: IsNull() }, select: { id: true } })).map((f) => f.id),
  );
  input.flowIds.forEach((id, i) => {
    if (!found.has(id)) throw notFound(`flow ${id}`, ['body', 'flowIds', i]);
    if (input.flowIds.indexOf(id) !== i) throw badRequest(`flow ${id} is listed twice`, ['body', 'flowIds', i]);
  });
  if (input.authFlowId) {
    if (!found.has(input.authFlowId)) throw notFound(`flow ${input.authFlowId}`, ['body', 'authFlowId']);
    if (input.flowIds.includes(input.authFlowId))
      throw badRequest('the auth flow cannot also be a member of the suite', ['body', 'authFlowId']);
  }
}

export async function createSuite(db: DataSource, accountId: string, input: SuiteInput): Promise<SuiteDto> {
  return db.transaction(async (m) => {
    await checkFlows(m, accountId, input);
    const suite: Suite = {
      accountId,
      id: input.id ?? randomUUID(),
      name: input.name,
      flowIds: input.flowIds,
      authFlowId: input.authFlowId ?? null,
      variables: input.variables,
      createdAt: new Date(),
      updatedAt: new Date(),
    };
    try {
      await m.getRepository(SuiteEntity).insert(suite);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`suite ${suite.id} already exists`, ['body', 'id']);
      throw err;
    }
    return toDto(suite);
  });
}

export async function getSuite(db: DataSource | EntityManager, accountId: string, suiteId: string): Promise<Suite> {
  const suite = await db.getRepository(SuiteEntity).findOne({ where: { accountId, id: suiteId } });
  if (!suite) throw notFound(`suite ${suiteId}`, ['path', 'suiteId']);
  return suite;
}

export const getSuiteDto = async (db: DataSource, accountId: string, suiteId: string) => toDto(await getSuite(db, accountId, suiteId));

export async function replaceSuite(db: DataSource, accountId: string, suiteId: string, input: SuiteInput): Promise<SuiteDto> {
  if (input.id !== undefined && input.id !== suiteId) throw badRequest('body id must match the path', ['body', 'id']);
  return db.transaction(async (m) => {
    const suite = await getSuite(m, accountId, suiteId);
    await checkFlows(m, accountId, input);
    Object.assign(suite, { name: input.name, flowIds: input.flowIds, authFlowId: input.authFlowId ?? null, variables: input.variables, updatedAt: new Date() });
    await m.getRepository(SuiteEntity).save(suite);
    return toDto(suite);
  });
}

export async function deleteSuite(db: DataSource, accountId: string, suiteId: string): Promise<void> {
  const res = await db.getRepository(SuiteEntity).delete({ accountId, id: suiteId });
  if (!res.affected) throw notFound(`suite ${suiteId}`, ['path', 'suiteId']);
}

export function listSuites(db: DataSource, accountId: string, page: PageQuery): Promise<Page<SuiteDto>> {
  const qb = db.getRepository(SuiteEntity).createQueryBuilder('s').where('s.accountId = :accountId', { accountId });
  return keysetPage(qb, 's', page, toDto);
}

/** The suites a flow belongs to, for resolving a single flow's suite context. */
export function suitesOfFlow(m: EntityManager, accountId: string, flowId: string): Promise<Suite[]> {
  return m
    .getRepository(SuiteEntity)
    .createQueryBuilder('s')
    .where('s.accountId = :accountId AND s.flowIds @> :member::jsonb', { accountId, member: JSON.stringify([flowId]) })
    .orderBy('s.createdAt', 'ASC')
    .getMany();
}
