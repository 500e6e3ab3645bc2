import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Retention: how long an account keeps its finished runs, and the index the daily sweep reads. */
export class Retention1733800000000 implements MigrationInterface {
  name = 'Retention1733800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts ADD COLUMN retention_days integer NOT NULL DEFAULT 30`);
    await q.query(`CREATE INDEX runs_finished_at ON runs (finished_at) WHERE finished_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX runs_finished_at`);
    await q.query(`ALTER TABLE accounts DROP COLUMN retention_days`);
  }
}
