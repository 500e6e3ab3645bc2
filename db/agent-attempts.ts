/**
 * The queue between the platform and its agents (migration 1734500000000): a platform worker's
 * `dispatchToAgent` activity puts a step attempt here and waits; the gateway hands it to one agent
 * of that account and name (`FOR UPDATE SKIP LOCKED`, so two agents never get one attempt), takes
 * its heartbeats and its result. Every read and write an agent causes names the account and the
 * agent, so an attempt is only ever seen by the account it belongs to. Times are the database's.
 * Updates that answer rows do so through a CTE (TypeORM answers a bare UPDATE … RETURNING as [rows, count]).
 */
import type { DataSource, EntityManager } from 'typeorm';
import type { AgentAttempt } from './entities';
import { isForeignKeyViolation } from './errors';

type Db = Pick<DataSource | EntityManager, 'query'>;

export type AgentAttemptStatus = AgentAttempt['status'];

/** An attempt to queue: its row's identifying columns, the call, and how long it may wait for an agent. */
export interface NewAgentAttempt extends Pick<AgentAttempt, 'id' | 'accountId' | 'agentName' | 'runId' | 'publicRunId' | 'stepKey' | 'attempt'> {
  call: unknown;
  /** Not handed out after this long in the queue (the workflow that waited for it may be gone). */
  pickupTimeoutMs: number;
}

/** An attempt as the waiting activity sees it; ages in milliseconds, by the database's clock. */
export interface AgentAttemptState {
  status: AgentAttemptStatus;
  claimedBy: string | null;
  claimedAt: string | null;
  queuedMs: number;
  runningMs: number | null;
  silentMs: number | null;
  result: unknown;
}

/** Puts an attempt in the queue; a second put of the same id (the activity retried) keeps the first. */
export async function enqueueAgentAttempt(db: Db, a: NewAgentAttempt): Promise<void> {
  await db.query(
    `INSERT INTO agent_attempts (id, account_id, agent_name, run_id, public_run_id, step_key, attempt, call, pickup_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9::float8 / 1000)) ON CONFLICT (id) DO NOTHING`,
    [a.id, a.accountId, a.agentName, a.runId, a.publicRunId, a.stepKey, a.attempt, JSON.stringify(a.call), a.pickupTimeoutMs],
  );
}

export async function readAgentAttempt(db: Db, id: string): Promise<AgentAttemptState | undefined> {
  const rows: {
    status: AgentAttemptStatus;
    claimed_by: string | null;
    claimed_at: Date | null;
    queued_ms: number;
    running_ms: number | null;
    silent_ms: number | null;
    result: unknown;
  }[] = await db.query(
    `SELECT status, claimed_by, claimed_at, result,
            (EXTRACT(EPOCH FROM now() - created_at) * 1000)::float8 AS queued_ms,
            (EXTRACT(EPOCH FROM now() - claimed_at) * 1000)::float8 AS running_ms,
            (EXTRACT(EPOCH FROM now() - heartbeat_at) * 1000)::float8 AS silent_ms
       FROM agent_attempts WHERE id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    status: r.status,
    claimedBy: r.claimed_by,
    claimedAt: r.claimed_at ? new Date(r.claimed_at).toISOString() : null,
    queuedMs: r.queued_ms,
    runningMs: r.running_ms,
    silentMs: r.silent_ms,
    result: r.result,
  };
}

/** Ends an attempt that has not ended yet as `to` (from the statuses `from`); answers whether it did. */
export async function endAgentAttempt(db: Db, id: string, from: AgentAttemptStatus[], to: 'cancelled' | 'lost', silentForMs = 0): Promise<boolean> {
  const rows: unknown[] = await db.query(
    `WITH ended AS (
       UPDATE agent_attempts SET status = $3, call = NULL, ended_at = now()
        WHERE id = $1 AND status = ANY($2::text[]) AND (heartbeat_at IS NULL OR heartbeat_at <= now() - make_interval(secs => $4::float8 / 1000))
        RETURNING id)
     SELECT id FROM ended`,
    [id, from, to, silentForMs],
  );
  return rows.length > 0;
}

/** The oldest queued attempt of the account's agent `name`, claimed for `identity`; none waiting: undefined. */
export async function claimAgentAttempt(db: Db, accountId: string, name: string, identity: string): Promise<{ id: string; call: unknown } | undefined> {
  const rows: { id: string; call: unknown }[] = await db.query(
    `WITH claimed AS (
       UPDATE agent_attempts SET status = 'claimed', claimed_by = $3, claimed_at = now(), heartbeat_at = now()
        WHERE id = (SELECT id FROM agent_attempts WHERE account_id = $1 AND agent_name = $2 AND status = 'queued' AND pickup_by > now()
                     ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id, call)
     SELECT id, call FROM claimed`,
    [accountId, name, identity],
  );
  return rows[0];
}

/** Puts back an attempt whose claim never reached its agent (the long poll's client had gone). */
export async function releaseAgentAttempt(db: Db, id: string): Promise<void> {
  await db.query(`UPDATE agent_attempts SET status = 'queued', claimed_by = NULL, claimed_at = NULL, heartbeat_at = NULL WHERE id = $1 AND status = 'claimed'`, [id]);
}

/** The account's agent `name` is still at attempt `id`: answers whether it should go on, or `undefined` when there is no such attempt of theirs. */
export async function beatAgentAttempt(db: Db, accountId: string, name: string, id: string): Promise<{ cancelled: boolean } | undefined> {
  const rows: { status: AgentAttemptStatus }[] = await db.query(
    `WITH beat AS (
       UPDATE agent_attempts SET heartbeat_at = now() WHERE id = $3 AND account_id = $1 AND agent_name = $2 AND status = 'claimed' RETURNING status)
     SELECT status FROM beat UNION ALL SELECT status FROM agent_attempts WHERE id = $3 AND account_id = $1 AND agent_name = $2 LIMIT 1`,
    [accountId, name, id],
  );
  if (!rows[0]) return undefined;
  return { cancelled: rows[0].status !== 'claimed' };
}

/**
 * The result of attempt `id` from the account's agent `name`: kept if the attempt is still claimed
 * (one result per attempt, the first); else answers the status it had ended with.
 */
export async function finishAgentAttempt(db: Db, accountId: string, name: string, id: string, result: unknown): Promise<{ kept: true } | { kept: false; status: AgentAttemptStatus } | undefined> {
  const rows: { kept: boolean; status: AgentAttemptStatus }[] = await db.query(
    `WITH done AS (
       UPDATE agent_attempts SET status = 'done', result = $4, call = NULL, ended_at = now()
        WHERE id = $3 AND account_id = $1 AND agent_name = $2 AND status = 'claimed' RETURNING status)
     SELECT true AS kept, status FROM done UNION ALL SELECT false AS kept, status FROM agent_attempts WHERE id = $3 AND account_id = $1 AND agent_name = $2 LIMIT 1`,
    [accountId, name, id, JSON.stringify(result)],
  );
  if (!rows[0]) return undefined;
  return rows[0].kept ? { kept: true } : { kept: false, status: rows[0].status };
}

/** Notes that `identity` polled or beat for the account's agent `name`; false when no such agent is registered. */
export async function agentSeen(db: Db, accountId: string, name: string, identity: string): Promise<boolean> {
  try {
    const rows: unknown[] = await db.query(
      `INSERT INTO agent_pollers (account_id, agent_name, identity)
         SELECT account_id, name, $3 FROM agents WHERE account_id = $1 AND name = $2
       ON CONFLICT (account_id, agent_name, identity) DO UPDATE SET seen_at = now() RETURNING identity`,
      [accountId, name, identity],
    );
    return rows.length > 0;
  } catch (err) {
    // The agent was removed between the SELECT and the insert's foreign key check: it is not registered.
    if (isForeignKeyViolation(err)) return false;
    throw err;
  }
}

export interface AgentPoller {
  agentName: string;
  identity: string;
  seenAt: Date;
}

/** The account's agent processes seen within `withinMs`, newest first. */
export async function agentPollers(db: Db, accountId: string, withinMs: number): Promise<AgentPoller[]> {
  const rows: { agent_name: string; identity: string; seen_at: Date }[] = await db.query(
    `SELECT agent_name, identity, seen_at FROM agent_pollers WHERE account_id = $1 AND seen_at > now() - make_interval(secs => $2::float8 / 1000) ORDER BY seen_at DESC`,
    [accountId, withinMs],
  );
  return rows.map((r) => ({ agentName: r.agent_name, identity: r.identity, seenAt: new Date(r.seen_at) }));
}

export interface RunningAgentAttempt {
  agentName: string;
  attemptId: string;
  runId: string;
  stepId: string;
  attempt: number;
  identity: string | null;
  since: Date;
}

/** What the account's agents are running now. */
export async function runningAgentAttempts(db: Db, accountId: string): Promise<RunningAgentAttempt[]> {
  const rows: { agent_name: string; id: string; public_run_id: string; step_key: string; attempt: number; claimed_by: string | null; claimed_at: Date }[] = await db.query(
    `SELECT agent_name, id, public_run_id, step_key, attempt, claimed_by, claimed_at FROM agent_attempts WHERE account_id = $1 AND status = 'claimed' ORDER BY claimed_at`,
    [accountId],
  );
  return rows.map((r) => ({ agentName: r.agent_name, attemptId: r.id, runId: r.public_run_id, stepId: r.step_key, attempt: r.attempt, identity: r.claimed_by, since: new Date(r.claimed_at) }));
}
