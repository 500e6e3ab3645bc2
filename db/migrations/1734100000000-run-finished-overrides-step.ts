import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `flowruns_run_finished` (migration 1734000000000) as the workflow's own record overrides a step's:
 * when a flow's timeout or a cancel lands just after the last step's activity recorded the run's
 * success, the workflow records the run's real end, and its `run.finished` line now replaces the
 * step's instead of being dropped as a duplicate. A step's record (`only_open_of`) still never
 * replaces a line.
 */
export class RunFinishedOverridesStep1734100000000 implements MigrationInterface {
  name = 'RunFinishedOverridesStep1734100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(runFinishedFunction(true));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(runFinishedFunction(false));
  }
}

function runFinishedFunction(workflowOverrides: boolean): string {
  const onConflict = workflowOverrides
    ? `ON CONFLICT (run_id, key) DO UPDATE SET ts = EXCLUDED.ts, level = EXCLUDED.level, message = EXCLUDED.message WHERE p_only_open_of IS NULL`
    : `ON CONFLICT DO NOTHING`;
  return `
    CREATE OR REPLACE FUNCTION flowruns_run_finished(
      p_run_id text, p_status text, p_error jsonb, p_outputs jsonb, p_now timestamptz, p_message text, p_only_open_of text
    ) RETURNS boolean LANGUAGE plpgsql AS $$
    DECLARE
      v_batch text;
    BEGIN
      UPDATE runs SET status = p_status, error = p_error, outputs = p_outputs,
             started_at = COALESCE(started_at, p_now), finished_at = p_now,
             duration_ms = LEAST(GREATEST(0, EXTRACT(EPOCH FROM (p_now - COALESCE(started_at, p_now))) * 1000), 2147483647)::int,
             updated_at = p_now
       WHERE id = p_run_id
         AND (p_only_open_of IS NULL
              OR (status IN ('queued', 'running', 'waiting') AND (workflow_run_id IS NULL OR workflow_run_id = p_only_open_of)))
      RETURNING batch_id INTO v_batch;
      IF NOT FOUND THEN
        RETURN false;
      END IF;
      INSERT INTO run_logs (run_id, key, ts, level, message)
      VALUES (p_run_id, 'run.finished', p_now, CASE WHEN p_status = 'succeeded' THEN 'info' ELSE 'error' END, p_message)
      ${onConflict};
      IF v_batch IS NOT NULL THEN
        PERFORM flowruns_batch_finished_if_last(p_run_id, v_batch);
      END IF;
      RETURN true;
    END $$;`;
}
