/**
 * Reads of `run_logs` beyond the entity's repository and the writes of db/step-records.ts: the
 * LISTEN on the channel its trigger notifies, the lines an event stream sends (with their run's
 * `runs` row), the first lines of a page of runs, and whether a run has a log (and `run_requests`).
 */
import type { Client } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { RunLog } from './entities';
import { scopeFilter, type RunScope } from './runs';

type Db = DataSource | EntityManager;

/** The channel the trigger on `run_logs` notifies on commit, with the runs and batches written for. */
export const RUN_LOGS_CHANNEL = 'flowruns_run_logs';

/** LISTENs on RUN_LOGS_CHANNEL on `client`, a connection of its own: its notifications come to that client. */
export async function listenRunLogs(client: Client): Promise<void> {
  await client.query(`LISTEN ${RUN_LOGS_CHANNEL}`);
}

/** A log line as an event stream sends it, with its run's public id, batch and status. */
export interface StreamedLogRow {
  seq: string;
  run_id: string;
  public_id: string;
  batch_id: string | null;
  key: string;
  ts: Date;
  level: string;
  step_id: string | null;
  message: string;
  run_status: string;
}

/**
 * Up to `limit` lines of the scope's runs after sequence number `after`, in sequence order, each
 * at least `settleSeconds` old (a transaction still open could commit an earlier number later).
 */
export function logLinesAfter(db: Db, scope: RunScope, after: bigint, settleSeconds: number, limit: number): Promise<StreamedLogRow[]> {
  const [where, param] = scopeFilter(scope, 'r.');
  return db.query(
    `SELECT l.seq, l.run_id, r.public_id, r.batch_id, l.key, l.ts, l.level, l.step_id, l.message, r.status AS run_status
       FROM run_logs l JOIN runs r ON r.id = l.run_id
      WHERE ${where} AND l.seq > $2 AND l.inserted_at < clock_timestamp() - make_interval(secs => $3)
      ORDER BY l.seq LIMIT ${limit}`,
    [param, after.toString(), settleSeconds],
  );
}

/** True when a line keyed `key` of the scope's runs has a sequence number at or before `after`. */
export async function logKeyAtOrBefore(db: Db, scope: RunScope, key: string, after: bigint): Promise<boolean> {
  const [where, param] = scopeFilter(scope, 'r.');
  const rows: unknown[] = await db.query(
    `SELECT 1 FROM run_logs l JOIN runs r ON r.id = l.run_id WHERE ${where} AND l.key = $2 AND l.seq <= $3 LIMIT 1`,
    [param, key, after.toString()],
  );
  return rows.length > 0;
}

/** The first `perRun` lines of each run, ordered by run, then time. */
export async function firstLogRowsOfRuns(
  db: Db,
  runIds: string[],
  perRun: number,
): Promise<{ run_id: string; key: string; ts: Date; level: RunLog['level']; step_id: string | null; message: string }[]> {
  return db.query(
    `SELECT run_id, key, ts, level, step_id, message FROM (
        SELECT l.*, row_number() OVER (PARTITION BY l.run_id ORDER BY l.ts, l.key) AS n
          FROM run_logs l WHERE l.run_id = ANY($1::text[])) x
      WHERE n <= $2 ORDER BY run_id, ts, key`,
    [runIds, perRun],
  );
}

/** Whether a run has log lines and whether it has `run_requests` rows, in one round trip (one row). */
export async function logAndRequestsPresence(db: Db, runId: string): Promise<{ has_log: boolean; has_requests: boolean }[]> {
  return db.query(
    `SELECT EXISTS (SELECT 1 FROM run_logs WHERE run_id = $1) AS has_log,
            EXISTS (SELECT 1 FROM run_requests WHERE run_id = $1) AS has_requests`,
    [runId],
  );
}
