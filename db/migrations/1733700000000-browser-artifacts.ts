import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Browser and scan steps: a page makes many requests per attempt (`run_requests.seq`, 0 for an
 * http step's one), its console lines are marked (`run_logs.source`), a step keeps what it did
 * action by action (`step_runs.details`), its files are listed in `run_artifacts` (the bytes live
 * in the artifact store), and visual regression compares against `visual_baselines`.
 */
export class BrowserArtifacts1733700000000 implements MigrationInterface {
  name = 'BrowserArtifacts1733700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE run_requests ADD COLUMN seq integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE run_requests DROP CONSTRAINT run_requests_pkey, ADD PRIMARY KEY (run_id, step_id, attempt, seq)`);
    await q.query(`ALTER TABLE run_logs ADD COLUMN source text`);
    await q.query(`ALTER TABLE step_runs ADD COLUMN details jsonb`);
    await q.query(`
      CREATE TABLE run_artifacts (
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step_id text NOT NULL,
        name text NOT NULL,
        kind text NOT NULL,
        storage_key text NOT NULL,
        content_type text NOT NULL,
        bytes integer NOT NULL,
        meta jsonb,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, step_id, name)
      )`);
    await q.query(`
      CREATE TABLE visual_baselines (
        account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        flow_id text NOT NULL,
        step_id text NOT NULL,
        name text NOT NULL,
        browser text NOT NULL,
        viewport text NOT NULL,
        storage_key text NOT NULL,
        run_id text NOT NULL,
        width integer NOT NULL,
        height integer NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, flow_id, step_id, name, browser, viewport)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE visual_baselines; DROP TABLE run_artifacts`);
    await q.query(`ALTER TABLE step_runs DROP COLUMN details`);
    await q.query(`ALTER TABLE run_logs DROP COLUMN source`);
    await q.query(`DELETE FROM run_requests WHERE seq > 0`);
    await q.query(`ALTER TABLE run_requests DROP CONSTRAINT run_requests_pkey, ADD PRIMARY KEY (run_id, step_id, attempt)`);
    await q.query(`ALTER TABLE run_requests DROP COLUMN seq`);
  }
}
