/**
 * Suites: ordered member flows, an optional auth flow run first inside each member's run, and
 * suite-scoped variables. Membership is looked up through a GIN index on `flow_ids`.
 */
import { randomUUID } from 'node:crypto';
import { In, IsNull, type DataSource, type EntityManager } from 'typeorm';
import { z } from 'zod';
import { FlowEntity, SuiteEntity, type Suite } from '../../../../db/entities';
import { isUniqueViolation } from '../../../../db/errors';
import { keysetPage, type Page, type PageQuery } from '../../../../db/keyset';
import { ConflictError, InvalidError, NotFoundError } from '../../../../domain/errors';
import { keepMaskedSecrets, secretNames, shownVariables } from '../secret-variables';

export interface SuiteInput {
  id?: string;
  name: string;
  flowIds: string[];
  authFlowId?: string | null;
  variables: Record<string, string>;
  /** Variables declared secret; on a replace, left out keeps the stored list. */
  secrets?: string[];
}

export const suiteSchema = z.object({
  id: z.string(),
  name: z.string(),
  flowIds: z.array(z.string()),
  authFlowId: z.string().nullable(),
  /** Secret variables' values show as `***`. */
  variables: z.record(z.string(), z.string()),
  secrets: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type SuiteDto = z.infer<typeof suiteSchema>;

const toDto = (s: Suite): SuiteDto => ({
  id: s.id,
  name: s.name,
  flowIds: s.flowIds,
  authFlowId: s.authFlowId,
  variables: shownVariables(s.variables, s.secrets),
  secrets: s.secrets,
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
    if (!found.has(id)) throw new NotFoundError(`flow ${id}`, ['flowIds', i]);
    if (input.flowIds.indexOf(id) !== i) throw new InvalidError(`flow ${id} is listed twice`, ['flowIds', i]);
  });
  if (input.authFlowId) {
    if (!found.has(input.authFlowId)) throw new NotFoundError(`flow ${input.authFlowId}`, ['authFlowId']);
    if (input.flowIds.includes(input.authFlowId))
      throw new InvalidError('the auth flow cannot also be a member of the suite', ['authFlowId']);
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
      secrets: secretNames(input.secrets),
      createdAt: new Date(),
      updatedAt: new Date(),
    };
    try {
      await m.getRepository(SuiteEntity).insert(suite);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`suite ${suite.id} already exists`, ['id']);
      throw err;
    }
    return toDto(suite);
  });
}

async function findSuite(db: DataSource | EntityManager, accountId: string, suiteId: string): Promise<Suite> {
  const suite = await db.getRepository(SuiteEntity).findOne({ where: { accountId, id: suiteId } });
  if (!suite) throw new NotFoundError(`suite ${suiteId}`, ['suiteId']);
  return suite;
}

export const getSuite = async (db: DataSource, accountId: string, suiteId: string): Promise<SuiteDto> =>
  toDto(await findSuite(db, accountId, suiteId));

export async function replaceSuite(db: DataSource, accountId: string, suiteId: string, input: SuiteInput): Promise<SuiteDto> {
  return db.transaction(async (m) => {
    const suite = await findSuite(m, accountId, suiteId);
    await checkFlows(m, accountId, input);
    const secrets = secretNames(input.secrets ?? suite.secrets);
    // A secret sent back as `***` (what a GET shows) keeps its stored value.
    const variables = keepMaskedSecrets(input.variables, suite.variables, secretNames(secrets, suite.secrets));
    Object.assign(suite, { name: input.name, flowIds: input.flowIds, authFlowId: input.authFlowId ?? null, variables, secrets, updatedAt: new Date() });
    await m.getRepository(SuiteEntity).save(suite);
    return toDto(suite);
  });
}

export async function deleteSuite(db: DataSource, accountId: string, suiteId: string): Promise<void> {
  const res = await db.getRepository(SuiteEntity).delete({ accountId, id: suiteId });
  if (!res.affected) throw new NotFoundError(`suite ${suiteId}`, ['suiteId']);
}

export function listSuites(db: DataSource, accountId: string, page: PageQuery): Promise<Page<SuiteDto>> {
  const qb = db.getRepository(SuiteEntity).createQueryBuilder('s').where('s.accountId = :accountId', { accountId });
  return keysetPage(qb, 's', page, toDto);
}
