import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A run's end in one round trip (db/projections.ts `runFinished`), instead of a transaction of six:
 *
 * - `flowruns_batch_finished_if_last(run_id, batch_id)`: logs `batch.finished` on the run that ended
 *   its batch. The batch row is locked first and the open runs read after the lock, so of runs
 *   ending at once exactly one sees every run of the batch ended (each statement of a plpgsql
 *   function takes a fresh snapshot under READ COMMITTED). `batch_id` null: read from the run.
 * - `flowruns_run_finished(...)`: the run's row ended, `run.finished` logged, and the above. With
 *   `only_open_of` (a step's activity records the end for its workflow run) nothing is written
 *   unless the row is still open under that workflow run. Without it (the workflow's own record) the
 *   row and the `run.finished` line are written whatever a step wrote before: a flow's timeout or a
 *   cancel landing just after the last step recorded the run's success leaves both telling the real
 *   end. True when the row was written.
 *
 * The open statuses are spelled as the partial index `runs_batch_open`'s predicate.
 */
export class RunFinishedFunction1734000000000 implements MigrationInterface {
  name = 'RunFinishedFunction1734000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION flowruns_batch_finished_if_last(p_run_id text, p_batch_id text) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        v_batch text := p_batch_id;
      BEGIN
        IF v_batch IS NULL THEN
          SELECT batch_id INTO v_batch FROM runs WHERE id = p_run_id;
        END IF;
        IF v_batch IS NULL THEN
          RETURN;
        END IF;
        PERFORM 1 FROM batches WHERE id = v_batch FOR UPDATE;
        IF EXISTS (SELECT 1 FROM runs WHERE batch_id = v_batch AND status IN ('queued', 'running', 'waiting') LIMIT 1) THEN
          RETURN;
        END IF;
        INSERT INTO run_logs (run_id, key, ts, level, message)
        SELECT p_run_id, 'batch.finished', now(), 'info', 'batch finished'
         WHERE NOT EXISTS (SELECT 1 FROM run_logs l JOIN runs r ON r.id = l.run_id WHERE r.batch_id = v_batch AND l.key = 'batch.finished')
        ON CONFLICT DO NOTHING;
      END $$;

      CREATE FUNCTION flowruns_run_finished(
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
        ON CONFLICT (run_id, key) DO UPDATE SET ts = EXCLUDED.ts, level = EXCLUDED.level, message = EXCLUDED.message
          WHERE p_only_open_of IS NULL;
        IF v_batch IS NOT NULL THEN
          PERFORM flowruns_batch_finished_if_last(p_run_id, v_batch);
        END IF;
        RETURN true;
      END $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION flowruns_run_finished(text, text, jsonb, jsonb, timestamptz, text, text); DROP FUNCTION flowruns_batch_finished_if_last(text, text)`);
  }
}
