/**
 * API-key authentication. Clients send keys four different ways, so all four are read; keys
 * are stored as sha256 hashes (definitions/api-keys/use-cases.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { DataSource } from 'typeorm';
import { ApiKeyEntity, type ApiKey } from '../../../db/entities';
import { selectRows } from '../../../db/rows';
import { hashKey } from '../definitions/api-keys/use-cases';
import { SCOPES, type AuthContext, type Scope } from '../deps';
import { forbidden, unauthorized } from './errors';

/** The key from `X-API-Key`, `AccessKey`, `Authorization: Bearer K` or a bare `Authorization: K`. */
function extractApiKey(req: Request): string | undefined {
  const direct = req.get('x-api-key') ?? req.get('accesskey');
  if (direct?.trim()) return direct.trim();
  const authz = req.get('authorization')?.trim();
  if (!authz) return undefined;
  const bearer = /^bearer\s+(.+)$/i.exec(authz);
  return (bearer ? bearer[1] : authz).trim() || undefined;
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

const ADMIN_AUTH: AuthContext = { accountId: 'default', keyId: 'admin', keyName: 'admin', isAdmin: true, scopes: SCOPES };

/**
 * Resolves the caller, or throws 401 (missing, unknown, revoked or expired key); `level: 'admin'`
 * demands the admin key and `scope` a key with that scope (403). Every request reads the key's
 * row, so a revocation takes effect at once.
 */
export async function authenticate(
  req: Request,
  dataSource: DataSource,
  adminKey: string | undefined,
  level: 'account' | 'admin',
  scope: Scope,
): Promise<AuthContext> {
  const key = extractApiKey(req);
  if (!key) throw unauthorized('missing API key: send X-API-Key, Authorization: Bearer, Authorization or AccessKey');
  let auth: AuthContext | undefined;
  if (adminKey && sameSecret(key, adminKey)) auth = ADMIN_AUTH;
  else {
    const [row] = await selectRows<Pick<ApiKey, 'id' | 'accountId' | 'name' | 'scopes' | 'expiresAt' | 'revokedAt'>>(
      dataSource,
      ApiKeyEntity,
      'SELECT id, account_id, name, scopes, expires_at, revoked_at FROM api_keys WHERE key_hash = $1',
      [hashKey(key)],
    );
    if (row && !row.revokedAt) {
      if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) throw unauthorized('API key expired');
      auth = { accountId: row.accountId, keyId: row.id, keyName: row.name, isAdmin: false, scopes: row.scopes as Scope[] };
    }
  }
  if (!auth) throw unauthorized('invalid or revoked API key');
  if (level === 'admin' && !auth.isAdmin) throw forbidden('this endpoint needs the admin key');
  if (!auth.scopes.includes(scope)) throw forbidden(`this key lacks the "${scope}" scope`);
  return auth;
}
