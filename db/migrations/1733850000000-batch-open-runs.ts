import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The open runs of a batch, found without reading its finished ones: every run's end asks whether
 * it was the batch's last, which on a batch of 10,000 runs would otherwise read all of them each time.
 */
export class BatchOpenRuns1733850000000 implements MigrationInterface {
  name = 'BatchOpenRuns1733850000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX runs_batch_open ON runs (batch_id) WHERE status IN ('queued', 'running', 'waiting')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX runs_batch_open`);
  }
}
