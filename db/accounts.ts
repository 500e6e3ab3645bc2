/** Queries on `accounts` beyond the entity's repository (db/entities/accounts.ts); webhook secrets: db/webhook-secrets.ts. */
import type { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

/** How long the account's finished runs are kept, in days; undefined for an account that does not exist. */
export async function retentionDays(db: Db, accountId: string): Promise<number | undefined> {
  const rows: { retention_days: number }[] = await db.query('SELECT retention_days FROM accounts WHERE id = $1', [accountId]);
  return rows[0]?.retention_days;
}

export async function setRetentionDays(db: Db, accountId: string, days: number): Promise<void> {
  await db.query('UPDATE accounts SET retention_days = $2 WHERE id = $1', [accountId, days]);
}
