/** Queries on `api_keys` beyond the entity's repository (db/entities/accounts.ts). */
import type { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

const LIVE = 'revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())';

/** Whether a key is live: not revoked, not expired. */
export async function isKeyLive(db: Db, keyId: string): Promise<boolean> {
  const rows: unknown[] = await db.query(`SELECT 1 FROM api_keys WHERE id = $1 AND ${LIVE}`, [keyId]);
  return rows.length > 0;
}

/**
 * The account's live keys, counted under a transaction-scoped advisory lock of the account (`lock`,
 * a class of locks), so two creations at once count each other's key. `m` must be in a transaction.
 */
export async function liveKeysLocked(m: EntityManager, lock: number, accountId: string): Promise<number> {
  await m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [lock, accountId]);
  const [row]: { live: number }[] = await m.query(`SELECT count(*)::int AS live FROM api_keys WHERE account_id = $1 AND ${LIVE}`, [accountId]);
  return row!.live;
}
