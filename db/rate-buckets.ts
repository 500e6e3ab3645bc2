/**
 * `rate_buckets`: the token buckets of the rate limits, shared by every gateway, taken through
 * `flowruns_rate_take` (db/migrations/1734650000000-shared-gateway-state.ts) in one statement a request.
 */
import type { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

/** A bucket after a take, as `flowruns_rate_take` answers it. */
export interface RateBucketRow {
  name: string;
  per_minute: number;
  burst: number;
  tokens: number;
  wait_seconds: number;
}

/** Buckets untouched this long are full again: their rows can go. */
const IDLE_ROWS = "interval '1 hour'";

/** Drops the buckets untouched for an hour (a bucket with no row is full). */
export async function deleteIdleRateBuckets(db: Db): Promise<void> {
  await db.query(`DELETE FROM rate_buckets WHERE at < now() - ${IDLE_ROWS}`);
}

/**
 * Takes a token from each bucket `names[i]` (refilled at `perMinute[i]` a minute), or from none
 * when one is empty; a row per bucket, `wait_seconds` > 0 for an empty one. Names are locked in
 * the order given: callers sort them, so two takes never wait on each other the other way round.
 */
export async function takeRateTokens(db: Db, names: string[], perMinute: number[]): Promise<RateBucketRow[]> {
  return db.query('SELECT * FROM flowruns_rate_take($1::text[], $2::float8[])', [names, perMinute]);
}
