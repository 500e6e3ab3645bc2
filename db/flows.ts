/** Reads of `flows` beyond the entity's repository (db/entities/flows.ts). */
import type { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

/** The account's flows not deleted, id and name, in id order (up to 500), for the dashboard's filter and links. */
export async function flowNames(db: Db, accountId: string): Promise<{ id: string; name: string }[]> {
  return db.query('SELECT id, name FROM flows WHERE account_id = $1 AND deleted_at IS NULL ORDER BY id LIMIT 500', [accountId]);
}
