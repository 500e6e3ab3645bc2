import type { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys get scopes (existing keys keep every scope) and an optional expiry. */
export class KeyScopes1732700000000 implements MigrationInterface {
  name = 'KeyScopes1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE api_keys ADD COLUMN scopes text[] NOT NULL DEFAULT '{read,run,admin}';
      ALTER TABLE api_keys ADD COLUMN expires_at timestamptz(3);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys DROP COLUMN scopes; ALTER TABLE api_keys DROP COLUMN expires_at;`);
  }
}
