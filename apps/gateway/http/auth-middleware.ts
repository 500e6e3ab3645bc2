/**
 * API-key authentication. Clients send keys four different ways, so all four are read; keys
 * are stored as sha256 hashes (definitions/api-keys.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { DataSource } from 'typeorm';
import { ApiKeyEntity, type ApiKey } from '../../../db/entities';
import { selectRows } from '../../../db/rows';
import { hashKey } from '../definitions/api-keys';
import { SCOPES, type AuthContext, type Scope } from '../deps';
import { forbidden, tooManyRequests, unauthorized } from './errors';

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

/**
 * A token bucket per key, in this gateway process: `perMinute` requests a minute on average,
 * bursts of a sixth of that. With several gateway replicas each enforces its own share.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;

  constructor(private readonly perMinute: number) {
    this.burst = Math.max(1, Math.ceil(perMinute / 6));
  }

  /** Takes one token for `keyId`, or throws 429 with the seconds until the next one. */
  take(keyId: string, now = Date.now()): void {
    if (this.perMinute <= 0) return;
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(keyId) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * rate);
    b.at = now;
    if (b.tokens < 1) {
      this.buckets.set(keyId, b);
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000));
      throw tooManyRequests(`rate limit of ${this.perMinute} requests a minute for this key exceeded; retry in ${retryAfter}s`, retryAfter);
    }
    b.tokens -= 1;
    this.buckets.set(keyId, b);
    if (this.buckets.size > 100_000) this.buckets.clear();
  }
}
