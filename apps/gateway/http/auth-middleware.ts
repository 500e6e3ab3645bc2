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

/** Token buckets by name: `perMinute` tokens a minute on average, bursts of a sixth of that; 0: no limit. */
class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;

  constructor(readonly perMinute: number) {
    this.burst = Math.max(1, Math.ceil(perMinute / 6));
  }

  /** Seconds until `name` has a token (0: it has one now); refills its bucket to `now`. */
  wait(name: string, now: number): number {
    if (this.perMinute <= 0) return 0;
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(name) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * rate);
    b.at = now;
    this.buckets.set(name, b);
    if (this.buckets.size > 100_000) this.buckets.clear();
    return b.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000));
  }

  /** Spends a token `wait` found. */
  spend(name: string): void {
    const b = this.buckets.get(name);
    if (b) b.tokens -= 1;
  }
}

/** What a request counts against: its key and its account. */
export interface RateSubject {
  keyId: string;
  accountId: string;
}

/**
 * Token buckets per key and per account, in this gateway process: `perMinute` requests a minute
 * for each key and `perAccountPerMinute` for an account's keys together (so more keys do not
 * multiply an account's rate), each with bursts of a sixth. With several gateway replicas each
 * enforces its own share.
 */
export class RateLimiter {
  private readonly perKey: TokenBuckets;
  private readonly perAccount: TokenBuckets;

  constructor(perMinute: number, perAccountPerMinute = 0) {
    this.perKey = new TokenBuckets(perMinute);
    this.perAccount = new TokenBuckets(perAccountPerMinute);
  }

  /**
   * Takes one token for the key and one for its account (a bare string: a key alone), or
   * throws 429 naming the limit reached, with the seconds until a request passes again.
   */
  take(who: string | RateSubject, now = Date.now()): void {
    const { keyId, accountId } = typeof who === 'string' ? { keyId: who, accountId: undefined } : who;
    const keyWait = this.perKey.wait(keyId, now);
    const accountWait = accountId === undefined ? 0 : this.perAccount.wait(accountId, now);
    if (keyWait || accountWait) {
      const [limit, whose, retryAfter] =
        keyWait >= accountWait ? [this.perKey.perMinute, 'this key', keyWait] : [this.perAccount.perMinute, 'this account (all its keys together)', accountWait];
      throw tooManyRequests(`rate limit of ${limit} requests a minute for ${whose} exceeded; retry in ${retryAfter}s`, retryAfter);
    }
    this.perKey.spend(keyId);
    if (accountId !== undefined) this.perAccount.spend(accountId);
  }
}
