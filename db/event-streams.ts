/**
 * `event_streams`: the live event streams open on every gateway (migration 1734650000000), so an
 * account's cap on streams counts them all. Each row is one stream, beaten by the gateway serving it.
 */
import type { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

/** Marks the streams `ids` alive now. */
export async function beatEventStreams(db: Db, ids: string[]): Promise<void> {
  await db.query('UPDATE event_streams SET heartbeat_at = now() WHERE id = ANY($1::uuid[])', [ids]);
}

/** Takes the account's stream lock until the end of the caller's transaction `tx`: one opener per account at a time, on every gateway. */
export async function lockAccountEventStreams(tx: EntityManager, accountId: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('flowruns.event_streams'), hashtext($1))`, [accountId]);
}

/** Drops the account's streams not beaten for `staleSeconds` (their gateway stopped). */
export async function deleteStaleEventStreams(db: Db, accountId: string, staleSeconds: number): Promise<void> {
  await db.query(`DELETE FROM event_streams WHERE account_id = $1 AND heartbeat_at < now() - make_interval(secs => $2)`, [accountId, staleSeconds]);
}

/** The account's open streams, and those of its key `keyId`. */
export async function countEventStreams(db: Db, accountId: string, keyId: string): Promise<{ account: number; key: number }> {
  const [counts] = (await db.query(`SELECT count(*)::int AS account, count(*) FILTER (WHERE key_id = $2)::int AS key FROM event_streams WHERE account_id = $1`, [
    accountId,
    keyId,
  ])) as { account: number; key: number }[];
  return counts!;
}

/** Counts stream `id` of the account's key, served by gateway `gatewayId`. */
export async function insertEventStream(db: Db, id: string, accountId: string, keyId: string, gatewayId: string): Promise<void> {
  await db.query('INSERT INTO event_streams (id, account_id, key_id, gateway_id) VALUES ($1, $2, $3, $4)', [id, accountId, keyId, gatewayId]);
}

/** Drops stream `id` (it closed). */
export async function deleteEventStream(db: Db, id: string): Promise<void> {
  await db.query('DELETE FROM event_streams WHERE id = $1', [id]);
}

/** Drops every stream gateway `gatewayId` serves (it is stopping). */
export async function deleteGatewayEventStreams(db: Db, gatewayId: string): Promise<void> {
  await db.query('DELETE FROM event_streams WHERE gateway_id = $1', [gatewayId]);
}
