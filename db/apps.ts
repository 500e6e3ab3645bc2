/** Reads of `apps` beyond the entity's repository (db/entities/apps.ts). */
import type { DataSource, EntityManager } from 'typeorm';
import type { App } from './entities';

type Db = DataSource | EntityManager;

/** The account's apps, id and name, in name order (up to 500), for the run form. */
export async function appNames(db: Db, accountId: string): Promise<{ id: string; name: string }[]> {
  return db.query('SELECT id, name FROM apps WHERE account_id = $1 ORDER BY name, id LIMIT 500', [accountId]);
}

/** An app's platform, one row or none (no such app in the account). */
export async function appPlatformRows(db: Db, accountId: string, appId: string): Promise<{ platform: App['platform'] }[]> {
  return db.query('SELECT platform FROM apps WHERE id = $1 AND account_id = $2', [appId, accountId]);
}
