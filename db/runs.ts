/**
 * Reads of `runs` beyond the entity's repository (db/entities): who a run belongs to (its account,
 * flow, public id and browser), whether the runs an event stream follows may still
 * write lines, and the step counts of a page of runs (with `step_runs` and `flow_versions`).
 */
import type { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

/** Who a run belongs to: what an activity binds its work to (an evaluator turn, a browser, where files go). */
export interface RunOwner {
  accountId: string;
  flowId: string;
  publicId: string;
  browser: string | null;
}

/** Who run `runId` belongs to; undefined when its row is gone. */
export async function findRunOwner(db: Db, runId: string): Promise<RunOwner | undefined> {
  const [row] = (await db.query('SELECT account_id, flow_id, public_id, browser FROM runs WHERE id = $1', [runId])) as {
    account_id: string;
    flow_id: string;
    public_id: string;
    browser: string | null;
  }[];
  return row && { accountId: row.account_id, flowId: row.flow_id, publicId: row.public_id, browser: row.browser };
}

/** What an event stream follows: the runs of a batch, or one run. */
export type RunScope = { batchId: string } | { runId: string };

/** The SQL condition on `runs` (as `alias`) selecting the scope's runs, for parameter $1, and that parameter. */
export const scopeFilter = (scope: RunScope, alias: string): [where: string, param: string] =>
  'batchId' in scope ? [`${alias}batch_id = $1`, scope.batchId] : [`${alias}id = $1`, scope.runId];

/** True when a run of `scope` is unfinished, or finished less than `endedAfterSeconds` ago (it may still write lines). */
export async function scopeStillWriting(db: Db, scope: RunScope, endedAfterSeconds: number): Promise<boolean> {
  const [where, param] = scopeFilter(scope, '');
  const rows: unknown[] = await db.query(
    `SELECT 1 FROM runs WHERE ${where} AND (finished_at IS NULL OR finished_at > clock_timestamp() - make_interval(secs => $2)) LIMIT 1`,
    [param, endedAfterSeconds],
  );
  return rows.length > 0;
}

/**
 * Step counts of runs in one grouped query, a row per run found: `total` is the larger of the
 * steps recorded and the steps of the definition it runs (`flow_versions`), so a queued run does
 * not claim zero steps.
 */
export async function stepCountRows(db: Db, runIds: string[]): Promise<{ id: string; total: number; succeeded: number }[]> {
  return db.query(
    `SELECT r.id,
            GREATEST(count(s.step_id), coalesce(max(jsonb_array_length(fv.definition -> 'steps')), 0))::int AS total,
            (count(s.step_id) FILTER (WHERE s.status = 'succeeded'))::int AS succeeded
       FROM runs r
       LEFT JOIN step_runs s ON s.run_id = r.id
       LEFT JOIN flow_versions fv ON fv.account_id = r.account_id AND fv.flow_id = r.flow_id AND fv.version = r.flow_version
      WHERE r.id = ANY($1::text[])
      GROUP BY r.id`,
    [runIds],
  );
}
