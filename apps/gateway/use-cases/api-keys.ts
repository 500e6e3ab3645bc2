/** API keys: the secret is returned once at creation; afterwards only its prefix is ever shown. */
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { AccountEntity, ApiKeyEntity, type ApiKey } from '../../../db/entities';
import type { AuthContext } from '../http/auth';
import { generateApiKey } from '../http/auth-middleware';
import { forbidden, notFound } from '../http/errors';
import { keysetPage, type Page, type PageQuery } from '../http/paging';

export interface ApiKeyDto {
  id: string;
  accountId: string;
  name: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

const toDto = (k: ApiKey): ApiKeyDto => ({
  id: k.id,
  accountId: k.accountId,
  name: k.name,
  prefix: k.keyPrefix,
  createdAt: k.createdAt.toISOString(),
  revokedAt: k.revokedAt ? k.revokedAt.toISOString() : null,
});

/** Stores a new key's hash inside the caller's transaction and returns the secret. */
export async function insertApiKey(m: EntityManager, accountId: string, name: string): Promise<ApiKeyDto & { apiKey: string }> {
  const { key, hash, prefix } = generateApiKey();
  const row: ApiKey = { id: randomUUID(), accountId, name, keyHash: hash, keyPrefix: prefix, createdAt: new Date(), revokedAt: null };
  await m.getRepository(ApiKeyEntity).insert(row);
  return { ...toDto(row), apiKey: key };
}

/** Keys for the caller's own account; only the admin may name another account. */
export async function createApiKey(
  ds: DataSource,
  auth: AuthContext,
  input: { name: string; accountId?: string },
): Promise<ApiKeyDto & { apiKey: string }> {
  const accountId = input.accountId ?? auth.accountId;
  if (accountId !== auth.accountId) {
    if (!auth.isAdmin) throw forbidden('only the admin key may create keys for another account');
    if (!(await ds.getRepository(AccountEntity).exists({ where: { id: accountId } }))) throw notFound('account', ['body', 'accountId']);
  }
  return insertApiKey(ds.manager, accountId, input.name);
}

export async function listApiKeys(ds: DataSource, accountId: string, page: PageQuery): Promise<Page<ApiKeyDto>> {
  const qb = ds.getRepository(ApiKeyEntity).createQueryBuilder('k').where('k.accountId = :accountId', { accountId });
  return keysetPage(qb, 'k', page, toDto);
}

/** Revokes at once (the next request with it is 401); revoking twice keeps the first time. The admin may revoke any key. */
export async function revokeApiKey(ds: DataSource, auth: AuthContext, keyId: string): Promise<{ id: string; revokedAt: string }> {
  const repo = ds.getRepository(ApiKeyEntity);
  const key = await repo.findOne({ where: auth.isAdmin ? { id: keyId } : { id: keyId, accountId: auth.accountId } });
  if (!key) throw notFound('API key', ['path', 'keyId']);
  if (!key.revokedAt) {
    await repo
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'COALESCE(revoked_at, now())' })
      .where('id = :id', { id: keyId })
      .execute();
    key.revokedAt = (await repo.findOneByOrFail({ id: keyId })).revokedAt;
  }
  return { id: key.id, revokedAt: (key.revokedAt as Date).toISOString() };
}
