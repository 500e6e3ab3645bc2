/**
 * Session-level advisory locks (no table): held by the connection that took them until it closes,
 * so they are taken on a pg client of their own (apps/gateway/shared/pg-session.ts), not the pool's.
 */
import type { Client } from 'pg';

/** Tries for session advisory lock `key` on `client`, without waiting: true when this session holds it. */
export async function tryAdvisoryLock(client: Client, key: number): Promise<boolean> {
  const [row] = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key])).rows;
  return row?.ok === true;
}
