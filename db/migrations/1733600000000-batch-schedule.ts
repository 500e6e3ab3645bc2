import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The schedule (its id in the account) that started a batch, for batches with source `schedule`. */
export class BatchSchedule1733600000000 implements MigrationInterface {
  name = 'BatchSchedule1733600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE batches ADD COLUMN schedule_id text`);
    await q.query(`CREATE INDEX batches_schedule ON batches (account_id, schedule_id, created_at DESC) WHERE schedule_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE batches DROP COLUMN schedule_id`);
  }
}
