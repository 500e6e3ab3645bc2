import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The columns a change carries per run; `flaky` from this migration on. */
const cols = (flaky: boolean) => `account_id, flow_id, status, ${flaky ? 'flaky' : 'false AS flaky'}, CASE WHEN finished_at IS NOT NULL THEN duration_ms END AS fin_ms`;

/** The runs a statement changed, a row per run: +1 as it is now, -1 as it was (as migration 1734100000000). */
const change = (flaky: boolean) => `SELECT ${cols(flaky)}, 1 AS sign FROM new_rows UNION ALL SELECT ${cols(flaky)}, -1 AS sign FROM old_rows`;
/** The rows a statement inserted (`new_rows`, +1) or deleted (`old_rows`, -1). */
const rowsOf = (table: 'new_rows' | 'old_rows', flaky: boolean) => `SELECT ${cols(flaky)}, ${table === 'new_rows' ? 1 : -1} AS sign FROM ${table}`;

/** The per-flow figures of a change `src`. */
const figures = (src: string) => `
  SELECT account_id, flow_id,
         sum(sign)::bigint AS total_runs,
         coalesce(sum(sign) FILTER (WHERE status = 'succeeded'), 0)::bigint AS succeeded,
         coalesce(sum(sign) FILTER (WHERE status = 'failed'), 0)::bigint AS failed,
         coalesce(sum(sign) FILTER (WHERE fin_ms IS NOT NULL), 0)::bigint AS finished,
         coalesce(sum(sign * fin_ms::bigint), 0)::bigint AS duration_sum,
         coalesce(sum(sign) FILTER (WHERE flaky), 0)::bigint AS flaky
    FROM (${src}) d GROUP BY account_id, flow_id`;

/** Upserts in key order, and only figures that changed (as the two stats migrations). */
const upserts = (src: string, flaky: boolean) => `
  INSERT INTO flow_run_stats AS t (account_id, flow_id, total_runs, succeeded, failed, finished, duration_sum${flaky ? ', flaky' : ''})
  SELECT account_id, flow_id, total_runs, succeeded, failed, finished, duration_sum${flaky ? ', flaky' : ''} FROM (${figures(src)}) s
   WHERE total_runs <> 0 OR succeeded <> 0 OR failed <> 0 OR finished <> 0 OR duration_sum <> 0 OR flaky <> 0
   ORDER BY account_id, flow_id
  ON CONFLICT (account_id, flow_id) DO UPDATE SET
    total_runs = t.total_runs + EXCLUDED.total_runs, succeeded = t.succeeded + EXCLUDED.succeeded,
    failed = t.failed + EXCLUDED.failed, finished = t.finished + EXCLUDED.finished,
    duration_sum = t.duration_sum + EXCLUDED.duration_sum${flaky ? ', flaky = t.flaky + EXCLUDED.flaky' : ''};
  INSERT INTO flow_run_durations AS h (account_id, flow_id, bucket, n)
  SELECT account_id, flow_id, flow_run_duration_bucket(fin_ms) AS bucket, sum(sign)::bigint AS n
    FROM (${src}) d WHERE fin_ms IS NOT NULL
   GROUP BY 1, 2, 3 HAVING sum(sign) <> 0
   ORDER BY 1, 2, 3
  ON CONFLICT (account_id, flow_id, bucket) DO UPDATE SET n = h.n + EXCLUDED.n;`;

/** Deletes only decrement. */
const decrements = (src: string, flaky: boolean) => `
  UPDATE flow_run_stats t SET total_runs = t.total_runs + s.total_runs, succeeded = t.succeeded + s.succeeded,
         failed = t.failed + s.failed, finished = t.finished + s.finished, duration_sum = t.duration_sum + s.duration_sum${flaky ? ', flaky = t.flaky + s.flaky' : ''}
    FROM (${figures(src)}) s WHERE t.account_id = s.account_id AND t.flow_id = s.flow_id;
  UPDATE flow_run_durations h SET n = h.n + b.n
    FROM (SELECT account_id, flow_id, flow_run_duration_bucket(fin_ms) AS bucket, sum(sign)::bigint AS n
            FROM (${src}) d WHERE fin_ms IS NOT NULL GROUP BY 1, 2, 3 HAVING sum(sign) <> 0) b
   WHERE h.account_id = b.account_id AND h.flow_id = b.flow_id AND h.bucket = b.bucket;`;

/** The two statement-level trigger functions of the per-flow figures, with or without `flaky`, as static SQL. */
const statsFunctions = (flaky: boolean) => `
  CREATE OR REPLACE FUNCTION flow_run_stats_update_trigger() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    ${upserts(change(flaky), flaky)}
    RETURN NULL;
  END
  $fn$;
  CREATE OR REPLACE FUNCTION flow_run_stats_trigger() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      ${upserts(rowsOf('new_rows', flaky), flaky)}
    ELSIF TG_OP = 'DELETE' THEN
      ${decrements(rowsOf('old_rows', flaky), flaky)}
    ELSE
      ${upserts(change(flaky), flaky)}
    END IF;
    RETURN NULL;
  END
  $fn$;`;

/**
 * Flaky runs: a run that succeeded as the rerun (`rerun_of`) or the resumption (`resumed_from`) of
 * a run that failed or timed out passed on a retry — the failure was not the flow's verdict. The
 * CLI's `--retries`, `POST /runs/{id}/rerun` and `/batches/{id}/rerun` make such chains.
 *
 * - `runs.flaky`: set by a BEFORE row trigger whenever the status of a run with a predecessor
 *   changes (or such a run is inserted already ended; an insert never copies the flag), so it is fixed when the run ends and stays
 *   true when retention later deletes the failed attempt. The WHEN clause keeps the trigger
 *   function from running for the runs that repeat nothing (nearly all of them).
 * - `flow_run_stats.flaky`: the statement-level triggers of migrations 1733900000000 and
 *   1734100000000 count it with the other figures (the same statements, one more sum), so deletes
 *   and status changes keep it exact. Existing rows are backfilled.
 */
export class FlakyRuns1734720000000 implements MigrationInterface {
  name = 'FlakyRuns1734720000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE runs ADD COLUMN flaky boolean NOT NULL DEFAULT false;
      ALTER TABLE flow_run_stats ADD COLUMN flaky bigint NOT NULL DEFAULT 0;

      CREATE FUNCTION flowruns_run_flaky() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        NEW.flaky := NEW.status = 'succeeded' AND EXISTS (
          SELECT 1 FROM runs o WHERE o.account_id = NEW.account_id AND o.public_id = coalesce(NEW.rerun_of, NEW.resumed_from)
             AND o.status IN ('failed', 'timed_out'));
        RETURN NEW;
      END
      $fn$;
      CREATE TRIGGER runs_flaky_update BEFORE UPDATE ON runs FOR EACH ROW
        WHEN (coalesce(NEW.rerun_of, NEW.resumed_from) IS NOT NULL AND OLD.status IS DISTINCT FROM NEW.status)
        EXECUTE FUNCTION flowruns_run_flaky();
      CREATE TRIGGER runs_flaky_insert BEFORE INSERT ON runs FOR EACH ROW
        WHEN (NEW.flaky OR (coalesce(NEW.rerun_of, NEW.resumed_from) IS NOT NULL AND NEW.status = 'succeeded'))
        EXECUTE FUNCTION flowruns_run_flaky();

      ${statsFunctions(true)}
    `);
    // Runs that ended before this: their flag, then their flow's count (the flag's update changes
    // no other figure, and the stats trigger already counts flaky by the time it runs).
    await q.query(`
      UPDATE runs r SET flaky = true
       WHERE r.status = 'succeeded' AND coalesce(r.rerun_of, r.resumed_from) IS NOT NULL
         AND EXISTS (SELECT 1 FROM runs o WHERE o.account_id = r.account_id AND o.public_id = coalesce(r.rerun_of, r.resumed_from)
                        AND o.status IN ('failed', 'timed_out'))
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TRIGGER runs_flaky_update ON runs;
      DROP TRIGGER runs_flaky_insert ON runs;
      DROP FUNCTION flowruns_run_flaky();
      ${statsFunctions(false)}
      ALTER TABLE flow_run_stats DROP COLUMN flaky;
      ALTER TABLE runs DROP COLUMN flaky;
    `);
  }
}
