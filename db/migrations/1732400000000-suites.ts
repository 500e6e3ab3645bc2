import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Suites: ordered flows, an optional auth flow and suite-scoped variables; runs remember their suite. */
export class Suites1732400000000 implements MigrationInterface {
  name = 'Suites1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE suites (
        account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        id text NOT NULL,
        name text NOT NULL,
        flow_ids jsonb NOT NULL DEFAULT '[]',
        auth_flow_id text,
        variables jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, id)
      );
      CREATE INDEX suites_account_page ON suites (account_id, created_at DESC, id DESC);
      CREATE INDEX suites_flow_members ON suites USING gin (flow_ids jsonb_path_ops);
      ALTER TABLE runs ADD COLUMN suite_id text;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs DROP COLUMN suite_id; DROP TABLE suites;`);
  }
}
