import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A run's id as clients see it is unique per account, not platform-wide: a client-chosen id
 * gets an internal id of its own, so two accounts may both use `nightly-1` and neither learns
 * that the other does. Runs created before this keep their id as their public id.
 */
export class RunPublicIds1732900000000 implements MigrationInterface {
  name = 'RunPublicIds1732900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs ADD COLUMN public_id text`);
    await q.query(`UPDATE runs SET public_id = id`);
    await q.query(`ALTER TABLE runs ALTER COLUMN public_id SET NOT NULL`);
    await q.query(`CREATE UNIQUE INDEX runs_public_id ON runs (account_id, public_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX runs_public_id`);
    await q.query(`ALTER TABLE runs DROP COLUMN public_id`);
  }
}
