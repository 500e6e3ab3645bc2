/** API keys: the secret is returned once at creation; afterwards only its prefix is ever shown. */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { AccountEntity, ApiKeyEntity, type ApiKey } from '../../../../db/entities';
import { liveKeysLocked } from '../../../../db/api-keys';
import { keysetPage, type Page, type PageQuery } from '../../../../db/keyset';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError } from '../../../../domain/errors';
import { SCOPES, type AuthContext, type Scope } from '../../deps';

/** Keys are stored as sha256 hashes, so a database leak does not leak usable keys. */
export const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/** A new secret: shown once, then only its hash and prefix are kept. */
function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = `fr_${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashKey(key), prefix: key.slice(0, 10) };
}

export const apiKeySchema = z.object({
  id: z.string(),
  accountId: z.string(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type ApiKeyDto = z.infer<typeof apiKeySchema>;

const toDto = (k: ApiKey): ApiKeyDto => ({
  id: k.id,
  accountId: k.accountId,
  name: k.name,
  prefix: k.keyPrefix,
  scopes: k.scopes as Scope[],
  createdAt: k.createdAt.toISOString(),
  expiresAt: k.expiresAt ? k.expiresAt.toISOString() : null,
  revokedAt: k.revokedAt ? k.revokedAt.toISOString() : null,
});

export interface KeyOptions {
  /** Default: every scope. */
  scopes?: readonly Scope[];
  expiresAt?: Date;
}

/** Stores a new key's hash inside the caller's transaction and returns the secret. */
export async function insertApiKey(m: EntityManager, accountId: string, name: string, options: KeyOptions = {}): Promise<ApiKeyDto & { apiKey: string }> {
  const { key, hash, prefix } = generateApiKey();
  const row: ApiKey = {
    id: randomUUID(),
    accountId,
    name,
    keyHash: hash,
    keyPrefix: prefix,
    scopes: [...new Set(options.scopes ?? SCOPES)],
    createdAt: new Date(),
    expiresAt: options.expiresAt ?? null,
    revokedAt: null,
  };
  await m.getRepository(ApiKeyEntity).insert(row);
  return { ...toDto(row), apiKey: key };
}

/** Live keys an account may hold unless FLOWRUNS_MAX_KEYS_PER_ACCOUNT says otherwise. */
export const DEFAULT_MAX_KEYS_PER_ACCOUNT = 100;

/** The advisory lock class under which an account's key creations serialize (with the account's hash). */
const KEY_CREATION_LOCK = 727402;

/**
 * Keys for the caller's own account; only the admin may name another account. An account holds
 * at most `maxLive` live keys (neither revoked nor expired): one more is a 409.
 */
export async function createApiKey(
  ds: DataSource,
  auth: AuthContext,
  input: { name: string; accountId?: string } & KeyOptions,
  maxLive = DEFAULT_MAX_KEYS_PER_ACCOUNT,
): Promise<ApiKeyDto & { apiKey: string }> {
  const accountId = input.accountId ?? auth.accountId;
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw new InvalidError('expiresAt must be in the future', ['expiresAt']);
  if (accountId !== auth.accountId) {
    if (!auth.isAdmin) throw new ForbiddenError('only the admin key may create keys for another account');
    if (!(await ds.getRepository(AccountEntity).exists({ where: { id: accountId } }))) throw new NotFoundError('account', ['accountId']);
  }
  return ds.transaction(async (m) => {
    // Two creations at once count each other's key.
    const live = await liveKeysLocked(m, KEY_CREATION_LOCK, accountId);
    if (live >= maxLive)
      throw new ConflictError(`the account already holds ${live} live API keys, the most it may (FLOWRUNS_MAX_KEYS_PER_ACCOUNT=${maxLive}); revoke one first`);
    return insertApiKey(m, accountId, input.name, input);
  });
}

/** The keys of `accountId`; only the admin may list another account's. */
export async function listApiKeys(ds: DataSource, auth: AuthContext, accountId: string, page: PageQuery): Promise<Page<ApiKeyDto>> {
  if (accountId !== auth.accountId && !auth.isAdmin) throw new ForbiddenError("only the admin key may list another account's keys");
  const qb = ds.getRepository(ApiKeyEntity).createQueryBuilder('k').where('k.accountId = :accountId', { accountId });
  return keysetPage(qb, 'k', page, toDto);
}

/** Revokes at once (the next request with it is 401); revoking twice keeps the first time. The admin may revoke any key. */
export async function revokeApiKey(ds: DataSource, auth: AuthContext, keyId: string): Promise<{ id: string; revokedAt: string }> {
  const repo = ds.getRepository(ApiKeyEntity);
  const key = await repo.findOne({ where: auth.isAdmin ? { id: keyId } : { id: keyId, accountId: auth.accountId } });
  if (!key) throw new NotFoundError('API key', ['keyId']);
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
