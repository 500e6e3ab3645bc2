import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Where a run came from when it repeats another: `rerun_of` (rerun) or `resumed_from` (resume), public ids. */
export class RunLineage1733300000000 implements MigrationInterface {
  name = 'RunLineage1733300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs ADD COLUMN rerun_of text, ADD COLUMN resumed_from text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs DROP COLUMN rerun_of, DROP COLUMN resumed_from`);
  }
}
