import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every log line gets a platform-wide sequence number and the time it was written, so the live
 * event streams (`…/events`) can resume after an event id and deliver each line once, in order.
 */
export class RunLogSequence1733500000000 implements MigrationInterface {
  name = 'RunLogSequence1733500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE run_logs ADD COLUMN seq bigserial, ADD COLUMN inserted_at timestamptz NOT NULL DEFAULT clock_timestamp()`);
    await q.query(`CREATE UNIQUE INDEX run_logs_seq ON run_logs (run_id, seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE run_logs DROP COLUMN seq, DROP COLUMN inserted_at`);
  }
}
