import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Dashboard sign-ins. The browser holds only a random session id; the table keeps its sha256
 * (`id_hash`), never the id or the API key. `key_id` is the key the user signed in with, checked
 * again on every request (a revoked or expired key ends its sessions); the admin key, which has no
 * row, is named by its sha256 instead, so changing FLOWRUNS_ADMIN_KEY ends its sessions too.
 */
export class DashboardSessions1734300000000 implements MigrationInterface {
  name = 'DashboardSessions1734300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE dashboard_sessions (
        id_hash text PRIMARY KEY,
        account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        key_id text REFERENCES api_keys(id) ON DELETE CASCADE,
        admin_key_hash text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL,
        CONSTRAINT dashboard_sessions_one_key CHECK ((key_id IS NULL) <> (admin_key_hash IS NULL))
      )`);
    await q.query(`CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at)`);
    await q.query(`CREATE INDEX dashboard_sessions_key ON dashboard_sessions (key_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE dashboard_sessions`);
  }
}
