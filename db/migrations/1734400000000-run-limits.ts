import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-account fairness (db/run-limits.ts). `run_slots`: a run of a batch asks for a slot before its
 * workflow starts; `seq` orders the waiting ones, `granted_at` marks those holding a slot, and a row
 * whose run has ended frees its slot. `run_descendants`: the runs `flow` steps started under one
 * root run, all depths together.
 */
export class RunLimits1734400000000 implements MigrationInterface {
  name = 'RunLimits1734400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE run_slots (
        run_id text PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        account_id text NOT NULL,
        seq bigserial NOT NULL,
        asked_at timestamptz(3) NOT NULL DEFAULT now(),
        polled_at timestamptz(3) NOT NULL DEFAULT now(),
        granted_at timestamptz(3)
      )`);
    await q.query(`CREATE INDEX run_slots_account ON run_slots (account_id, seq)`);
    await q.query(`
      CREATE TABLE run_descendants (
        root_run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        run_id text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (root_run_id, run_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE run_descendants`);
    await q.query(`DROP TABLE run_slots`);
  }
}
