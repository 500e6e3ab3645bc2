/**
 * Dashboard sessions: the browser holds a random id, Postgres its sha256 with the account, the key
 * it was signed in with and an expiry (table `dashboard_sessions`). Every request reads the key
 * again, so a revoked or expired key ends its sessions at once. Forms carry a CSRF token derived
 * from the session id, which only the holder of the id can compute.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { deleteSession, findSession, insertSession } from '../../../db/dashboard-sessions';
import { hashKey } from '../definitions/api-keys/use-cases';
import { SCOPES, type AuthContext, type Scope } from '../deps';

const hashId = (id: string): string => createHash('sha256').update(id).digest('hex');

/** A new random token, for a session id or the sign-in form's token. */
export const newToken = (): string => randomBytes(32).toString('base64url');

/** The CSRF token of a session's forms: an HMAC keyed by the session id, so it reveals nothing of it. */
export const csrfToken = (sessionId: string): string => createHmac('sha256', sessionId).update('flowruns dashboard form').digest('base64url');

/** Constant-time comparison of two tokens; a missing one never matches. */
export function sameToken(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || !a) return false;
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export class DashboardSessions {
  constructor(
    private readonly dataSource: DataSource,
    private readonly adminKey: string | undefined,
    private readonly ttlMs: number,
  ) {}

  /** Starts a session for the key `auth` was resolved from; returns its id, which only the cookie holds. */
  async start(auth: AuthContext): Promise<{ id: string; maxAgeMs: number }> {
    const id = newToken();
    const admin = auth.keyId === 'admin' && auth.isAdmin;
    if (admin && !this.adminKey) throw new Error('an admin session without an admin key');
    await insertSession(this.dataSource, {
      idHash: hashId(id),
      accountId: auth.accountId,
      keyId: admin ? null : auth.keyId,
      adminKeyHash: admin ? hashKey(this.adminKey!) : null,
      ttlMs: this.ttlMs,
    });
    return { id, maxAgeMs: this.ttlMs };
  }

  /**
   * The caller of a live session, or undefined: unknown or expired session, or its key revoked,
   * expired or (the admin key) changed. A session found dead is deleted.
   */
  async resolve(id: string): Promise<AuthContext | undefined> {
    const row = await findSession(this.dataSource, hashId(id));
    if (!row) return undefined;
    let auth: AuthContext | undefined;
    if (row.key_id === null) {
      if (this.adminKey && row.admin_key_hash && sameToken(hashKey(this.adminKey), row.admin_key_hash))
        auth = { accountId: row.account_id, keyId: 'admin', keyName: 'admin', isAdmin: true, scopes: SCOPES };
    } else if (row.name !== null && !row.revoked_at && !row.key_expired) {
      auth = { accountId: row.account_id, keyId: row.key_id, keyName: row.name, isAdmin: false, scopes: (row.scopes ?? []) as Scope[] };
    }
    if (!auth) await this.end(id);
    return auth;
  }

  /** Ends a session (sign-out); an unknown id is no error. */
  async end(id: string): Promise<void> {
    await deleteSession(this.dataSource, hashId(id));
  }
}
