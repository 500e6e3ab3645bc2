/** `dashboard_sessions` (migration 1734300000000): a dashboard session by the sha256 of its id, with its account, key and expiry. */
import type { DataSource } from 'typeorm';

/** A session with what its key is now: `key_id` null for an admin session (then `admin_key_hash`). */
export interface SessionRow {
  account_id: string;
  key_id: string | null;
  admin_key_hash: string | null;
  name: string | null;
  scopes: string[] | null;
  key_expired: boolean | null;
  revoked_at: Date | null;
}

/** Writes a session (and drops the expired ones). */
export async function insertSession(
  db: DataSource,
  s: { idHash: string; accountId: string; keyId: string | null; adminKeyHash: string | null; ttlMs: number },
): Promise<void> {
  await db.query(`DELETE FROM dashboard_sessions WHERE expires_at < now()`);
  await db.query(
    `INSERT INTO dashboard_sessions (id_hash, account_id, key_id, admin_key_hash, expires_at)
     VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond')`,
    [s.idHash, s.accountId, s.keyId, s.adminKeyHash, s.ttlMs],
  );
}

/** The live (unexpired) session of `idHash`, with its key as it is now; undefined when there is none. */
export async function findSession(db: DataSource, idHash: string): Promise<SessionRow | undefined> {
  const [row]: SessionRow[] = await db.query(
    `SELECT s.account_id, s.key_id, s.admin_key_hash, k.name, k.scopes, k.expires_at <= now() AS key_expired, k.revoked_at
       FROM dashboard_sessions s LEFT JOIN api_keys k ON k.id = s.key_id
      WHERE s.id_hash = $1 AND s.expires_at > now()`,
    [idHash],
  );
  return row;
}

export async function deleteSession(db: DataSource, idHash: string): Promise<void> {
  await db.query(`DELETE FROM dashboard_sessions WHERE id_hash = $1`, [idHash]);
}
