/**
 * Per-account fairness in Postgres (migration 1734400000000): slots for running runs, taken in the
 * order they were asked for, and the count of runs `flow` steps started under one root run. Each
 * is decided under a transaction-scoped advisory lock (of the account, of the root run), so two
 * workers never both take the last slot; a retried call finds its own row and answers the same.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { RUN_STATUSES, TERMINAL_RUN_STATUSES } from '../domain/statuses';

export interface RunLimits {
  /** Runs of one account that run at once (FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT); more wait their turn. */
  maxRunningRunsPerAccount: number;
  /** Runs `flow` steps may start under one root run, all depths together (FLOWRUNS_MAX_RUN_DESCENDANTS). */
  maxRunDescendants: number;
}

export const DEFAULT_RUN_LIMITS: RunLimits = { maxRunningRunsPerAccount: 200, maxRunDescendants: 100 };

/** Keys of the advisory locks (with the account's or root run's hash as the second key). */
const SLOT_LOCK = 734_401;
const DESCENDANT_LOCK = 734_402;

/** A waiting run that has not asked again for this long (its batch is gone) no longer holds the others back. */
const WAITER_STALE = '30 seconds';
/**
 * A slot granted this long ago whose run still has not started (its batch ended between the grant
 * and the run's start) is free again; a run that did start holds its slot until it ends.
 */
const GRANT_STALE = '5 minutes';

const OPEN_STATUSES = RUN_STATUSES.filter((s) => !TERMINAL_RUN_STATUSES.includes(s));

export type SlotAnswer =
  | { granted: true }
  /** The run ended (or its rows are gone) before it got a slot: it must not start. */
  | { granted: false; ended: true }
  /** `running`: the account's runs holding a slot; `ahead`: runs that asked before this one and still wait; `first`: this was its first ask. */
  | { granted: false; ended: false; running: number; ahead: number; first: boolean };

/**
 * Asks for slots for `runIds` (runs of `accountId`), in that order, in one transaction: each is
 * granted when the account's runs holding one and the runs waiting ahead of it are fewer than
 * `bound`. A run's first ask puts it in line; later asks keep its place. Slots of runs that have
 * ended are freed here, whatever ended them. The answers in the order of `runIds`.
 */
export async function takeRunSlots(ds: DataSource, accountId: string, runIds: readonly string[], bound: number): Promise<SlotAnswer[]> {
  return ds.transaction(async (m): Promise<SlotAnswer[]> => {
    await m.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [SLOT_LOCK, accountId]);
    await m.query(`DELETE FROM run_slots s USING runs r WHERE s.account_id = $1 AND r.id = s.run_id AND r.status = ANY($2::text[])`, [accountId, TERMINAL_RUN_STATUSES]);
    const answers: SlotAnswer[] = [];
    for (const runId of runIds) answers.push(await slotFor(m, accountId, runId, bound));
    return answers;
  });
}

/** One run's ask, under the account's lock (takeRunSlots). */
async function slotFor(m: EntityManager, accountId: string, runId: string, bound: number): Promise<SlotAnswer> {
  const [mine] = (await m.query(
    `INSERT INTO run_slots (run_id, account_id) SELECT id, $2 FROM runs WHERE id = $1 AND status = ANY($3::text[])
     ON CONFLICT (run_id) DO UPDATE SET polled_at = now()
     RETURNING seq, granted_at IS NOT NULL AS granted, (xmax = 0) AS inserted`,
    [runId, accountId, OPEN_STATUSES],
  )) as { seq: string; granted: boolean; inserted: boolean }[];
  if (!mine) return { granted: false, ended: true };
  if (mine.granted) return { granted: true };
  const [counts] = (await m.query(
    `SELECT count(*) FILTER (WHERE s.granted_at IS NOT NULL AND (r.status <> 'queued' OR s.granted_at > now() - $3::interval))::int AS running,
            count(*) FILTER (WHERE s.granted_at IS NULL AND s.seq < $2::bigint AND s.polled_at > now() - $4::interval)::int AS ahead
       FROM run_slots s JOIN runs r ON r.id = s.run_id
      WHERE s.account_id = $1`,
    [accountId, mine.seq, GRANT_STALE, WAITER_STALE],
  )) as { running: number; ahead: number }[];
  const { running, ahead } = counts ?? { running: 0, ahead: 0 };
  if (running + ahead < bound) {
    await m.query('UPDATE run_slots SET granted_at = now() WHERE run_id = $1', [runId]);
    return { granted: true };
  }
  return { granted: false, ended: false, running, ahead, first: mine.inserted };
}

/** What a waiting run's log and its waiting activity say. */
export const waitingMessage = (a: { running: number; ahead: number }, bound: number): string =>
  `waiting: account has ${a.running} runs running (FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT=${bound})` +
  (a.ahead > 0 ? `; ${a.ahead} queued before this one` : '');

/**
 * Counts `runId` among the runs started through `flow` steps under `rootRunId`, in the caller's
 * transaction: not claimed (nothing written) when that would make more than `bound`, with the root
 * run's public id for the message. Counted once, so a retried start of the same child is not counted again.
 */
export async function claimDescendant(
  m: EntityManager,
  rootRunId: string,
  runId: string,
  bound: number,
): Promise<{ claimed: true; count: number } | { claimed: false; count: number; rootPublicId: string }> {
  await m.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [DESCENDANT_LOCK, rootRunId]);
  const [counted] = (await m.query(
    `SELECT count(*)::int AS n, bool_or(run_id = $2) AS mine FROM run_descendants WHERE root_run_id = $1`,
    [rootRunId, runId],
  )) as { n: number; mine: boolean | null }[];
  const n = counted?.n ?? 0;
  if (counted?.mine) return { claimed: true, count: n };
  if (n >= bound) {
    const [root] = (await m.query('SELECT public_id FROM runs WHERE id = $1', [rootRunId])) as { public_id: string }[];
    return { claimed: false, count: n, rootPublicId: root?.public_id ?? rootRunId };
  }
  await m.query('INSERT INTO run_descendants (root_run_id, run_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [rootRunId, runId]);
  return { claimed: true, count: n + 1 };
}
