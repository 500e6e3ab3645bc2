import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Step outputs too large for a Temporal payload, kept whole (unmasked) for the steps that read them. */
export class StepOutputs1732650000000 implements MigrationInterface {
  name = 'StepOutputs1732650000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE step_outputs (
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step_id text NOT NULL,
        output jsonb,
        bytes integer NOT NULL,
        PRIMARY KEY (run_id, step_id)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE step_outputs;`);
  }
}
