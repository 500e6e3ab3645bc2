/**
 * Versioned flow definitions. Every save writes the `flows` head row and its `flow_versions`
 * row in one transaction, so a run can always load the exact definition it was started with.
 */
import { randomUUID } from 'node:crypto';
import { In, IsNull, type DataSource, type EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { FlowEntity, FlowVersionEntity, type Flow, type FlowVersion } from '../../../../db/entities';
import { z } from 'zod';
import { isUniqueViolation } from '../../../../db/errors';
import { keysetPage, type Page, type PageQuery } from '../../../../db/keyset';
import { ConflictError, InvalidError, NotFoundError } from '../../../../domain/errors';
import { toFlowDefinition, type FlowInput } from '../../../../domain/flow-definition';
import { FLOW_TYPES, type FlowDefinition } from '../../../../domain/flow-types';
import { WEBHOOK_EVENTS } from '../../../../domain/webhooks';
import { stepSchema } from '../../../../steps';
import { keepMaskedSecrets, secretNames, shownVariables } from '../secret-variables';

export const flowSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(FLOW_TYPES),
  description: z.string().optional(),
  variables: z.record(z.string(), z.string()),
  secrets: z.array(z.string()).optional(),
  notify: z.array(z.object({ url: z.string(), on: z.array(z.enum(WEBHOOK_EVENTS)) })).optional(),
  configs: z.object({ endOnFail: z.boolean().optional(), timeoutMs: z.number().optional() }),
  steps: z.array(stepSchema),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type FlowDto = z.infer<typeof flowSchema>;

/** A definition as responses show it: secret variables' values as `***`. */
const shown = (d: FlowDefinition): FlowDefinition => ({ ...d, variables: shownVariables(d.variables, d.secrets) });

const toDto = (f: Flow): FlowDto => ({
  ...shown(f.definition),
  version: f.version,
  createdAt: f.createdAt.toISOString(),
  updatedAt: f.updatedAt.toISOString(),
});

/** TypeORM's deep-partial insert type cannot follow the step-definition union inside the jsonb column. */
const row = <T>(value: Partial<T>) => value as QueryDeepPartialEntity<T>;

async function lockFlow(m: EntityManager, accountId: string, flowId: string): Promise<Flow | null> {
  return m
    .getRepository(FlowEntity)
    .createQueryBuilder('f')
    .setLock('pessimistic_write')
    .where('f.accountId = :accountId AND f.id = :flowId', { accountId, flowId })
    .getOne();
}

/** The flows a definition's `flow` steps run, with the step's index. */
const subFlowsOf = (d: FlowDefinition): { index: number; flowId: string }[] =>
  d.steps.flatMap((s, index) => (s.type === 'flow' ? [{ index, flowId: String((s.config as { flowId: unknown }).flowId) }] : []));

/**
 * A flow's `flow` steps must name flows of the account, and no chain of them may lead back to the
 * flow itself (the engine also stops at a nesting depth, for cycles made by later saves elsewhere).
 */
async function checkSubFlows(m: EntityManager, accountId: string, definition: FlowDefinition): Promise<void> {
  const refs = subFlowsOf(definition);
  const at = (index: number) => ['body', 'steps', index, 'config', 'flowId'];
  /** For each flow reached: the path to it from the flow being saved, and the step it started from. */
  const paths = new Map<string, { path: string[]; index: number }>();
  let frontier: string[] = [];
  for (const r of refs) {
    if (r.flowId === definition.id) throw new InvalidError('a flow cannot run itself', at(r.index));
    if (!paths.has(r.flowId)) {
      paths.set(r.flowId, { path: [definition.id, r.flowId], index: r.index });
      frontier.push(r.flowId);
    }
  }
  for (let level = 0; frontier.length > 0 && paths.size <= 1000; level++) {
    const found = await m.getRepository(FlowEntity).find({ where: { accountId, id: In(frontier), deletedAt: IsNull() }, select: { id: true, definition: true } });
    if (level === 0)
      for (const id of frontier)
        if (!found.some((f) => f.id === id)) throw new InvalidError(`flow ${id} does not exist in this account`, at(paths.get(id)!.index));
    frontier = [];
    for (const flow of found) {
      const via = paths.get(flow.id)!;
      for (const r of subFlowsOf(flow.definition)) {
        if (r.flowId === definition.id)
          throw new InvalidError(`flows would run each other in a cycle: ${[...via.path, definition.id].join(' → ')}`, at(via.index));
        if (!paths.has(r.flowId)) {
          paths.set(r.flowId, { path: [...via.path, r.flowId], index: via.index });
          frontier.push(r.flowId);
        }
      }
    }
  }
}

/** Writes version `prev + 1` (1 for a new flow); a soft-deleted flow comes back continuing its numbering. */
async function saveVersion(m: EntityManager, accountId: string, definition: FlowDefinition, prev: Flow | null): Promise<Flow> {
  await checkSubFlows(m, accountId, definition);
  const now = new Date();
  const revived = prev !== null && prev.deletedAt !== null;
  const flow: Flow = {
    accountId,
    id: definition.id,
    name: definition.name,
    type: definition.type,
    version: (prev?.version ?? 0) + 1,
    definition,
    createdAt: prev && !revived ? prev.createdAt : now,
    updatedAt: now,
    deletedAt: null,
  };
  const repo = m.getRepository(FlowEntity);
  if (prev) {
    const { accountId: _a, id: _i, ...changes } = flow;
    await repo.update({ accountId, id: flow.id }, row(changes));
  } else {
    await repo.insert(row(flow));
  }
  await m
    .getRepository(FlowVersionEntity)
    .insert(row<FlowVersion>({ accountId, flowId: flow.id, version: flow.version, definition, createdAt: now }));
  return flow;
}

const alreadyExists = (id: string) => new ConflictError(`flow "${id}" already exists; PUT it to save a new version`, ['id']);

/** Creates a flow; a conflict when a live flow already has the id. */
export async function createFlow(ds: DataSource, accountId: string, input: FlowInput): Promise<FlowDto> {
  const definition = toFlowDefinition(input, input.id ?? randomUUID());
  try {
    return toDto(
      await ds.transaction(async (m) => {
        const prev = await lockFlow(m, accountId, definition.id);
        if (prev && !prev.deletedAt) throw alreadyExists(definition.id);
        return saveVersion(m, accountId, definition, prev);
      }),
    );
  } catch (err) {
    if (isUniqueViolation(err)) throw alreadyExists(definition.id);
    throw err;
  }
}

/**
 * A new version over the stored one: `secrets` left out keeps the stored list, and a secret
 * variable sent back as `***` keeps its stored value.
 */
function withStoredSecrets(next: FlowDefinition, keepList: boolean, stored: FlowDefinition | undefined): FlowDefinition {
  if (!stored) return next;
  const secrets = keepList ? secretNames(stored.secrets) : secretNames(next.secrets);
  const variables = keepMaskedSecrets(next.variables, stored.variables, secretNames(secrets, stored.secrets));
  const { secrets: _s, ...rest } = next;
  return { ...rest, variables, ...(secrets.length ? { secrets } : {}) };
}

/** Saves a new version of an existing flow, or creates the flow; see withStoredSecrets for secrets sent back masked. */
export async function putFlow(
  ds: DataSource,
  accountId: string,
  flowId: string,
  input: FlowInput,
): Promise<{ flow: FlowDto; created: boolean }> {
  const save = () =>
    ds.transaction(async (m) => {
      const prev = await lockFlow(m, accountId, flowId);
      const definition = withStoredSecrets(toFlowDefinition(input, flowId), input.secrets === undefined, prev?.definition);
      return { flow: toDto(await saveVersion(m, accountId, definition, prev)), created: !prev || prev.deletedAt !== null };
    });
  try {
    return await save();
  } catch (err) {
    if (isUniqueViolation(err)) return save();
    throw err;
  }
}

/** A live flow's head, or NotFound (another account's flow included). */
async function findFlow(m: EntityManager, accountId: string, flowId: string): Promise<Flow> {
  const flow = await m.getRepository(FlowEntity).findOneBy({ accountId, id: flowId });
  if (!flow || flow.deletedAt) throw new NotFoundError(`flow "${flowId}"`, ['flowId']);
  return flow;
}

export async function getFlow(ds: DataSource, accountId: string, flowId: string, version?: number): Promise<FlowDto> {
  const head = await findFlow(ds.manager, accountId, flowId);
  if (version === undefined || version === head.version) return toDto(head);
  const row = await ds.getRepository(FlowVersionEntity).findOneBy({ accountId, flowId, version });
  if (!row) throw new NotFoundError(`version ${version} of flow "${flowId}"`, ['version']);
  return { ...shown(row.definition), version: row.version, createdAt: head.createdAt.toISOString(), updatedAt: row.createdAt.toISOString() };
}

export async function listFlows(ds: DataSource, accountId: string, page: PageQuery): Promise<Page<FlowDto>> {
  const qb = ds
    .getRepository(FlowEntity)
    .createQueryBuilder('f')
    .where('f.accountId = :accountId AND f.deletedAt IS NULL', { accountId });
  return keysetPage(qb, 'f', page, toDto);
}

/** Soft delete: the flow disappears from the API while its runs keep their history and versions. */
export async function deleteFlow(ds: DataSource, accountId: string, flowId: string): Promise<void> {
  const res = await ds
    .getRepository(FlowEntity)
    .createQueryBuilder()
    .update()
    .set({ deletedAt: () => 'now()' })
    .where('account_id = :accountId AND id = :flowId AND deleted_at IS NULL', { accountId, flowId })
    .execute();
  if (!res.affected) throw new NotFoundError(`flow "${flowId}"`, ['flowId']);
}
