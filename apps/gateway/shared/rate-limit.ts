/**
 * The rate limits, shared by every gateway through Postgres: a token bucket per key and per
 * account (and per sign-in address), `perMinute` tokens a minute on average with bursts of a sixth
 * (a full bucket refills in 10 s), all taken in one statement per request (`flowruns_rate_take`,
 * db/migrations/1734650000000-shared-gateway-state.ts). N gateways allow what one allows.
 */
import type { DataSource } from 'typeorm';
import { deleteIdleRateBuckets, takeRateTokens, type RateBucketRow } from '../../../db/rate-buckets';
import { tooManyRequests } from '../http/errors';

/** What a request counts against: its key and its account. */
export interface RateSubject {
  keyId: string;
  accountId: string;
}

/** The state of the tightest bucket a request counted against, for the `RateLimit-*` headers. */
export interface RateState {
  /** The burst: requests that may come at once. */
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
}

type Row = RateBucketRow;

/** A full bucket refills in this many seconds (a sixth of a minute's rate). */
export const RATE_WINDOW_SECONDS = 10;
/** Buckets untouched for an hour are full again: their rows are dropped every this many takes. */
const SWEEP_EVERY = 5000;

/** `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (IETF draft 6) and `RateLimit-Policy`. */
export function rateLimitHeaders(state: RateState): Record<string, string> {
  return {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(state.remaining),
    'RateLimit-Reset': String(state.resetSeconds),
    'RateLimit-Policy': `${state.limit};w=${RATE_WINDOW_SECONDS}`,
  };
}

export class SharedRateLimiter {
  private calls = 0;

  constructor(
    private readonly db: DataSource,
    private readonly perKey: number,
    private readonly perAccount = 0,
  ) {}

  /**
   * Takes a token from the key's bucket and from its account's (a bare string: that bucket alone),
   * or from neither and throws 429 naming the limit reached, with `Retry-After` and the
   * `RateLimit-*` headers. Undefined when no limit applies.
   */
  async take(who: string | RateSubject): Promise<RateState | undefined> {
    const buckets: { name: string; perMinute: number; whose: string }[] = [];
    if (typeof who === 'string') {
      if (this.perKey > 0) buckets.push({ name: who, perMinute: this.perKey, whose: 'this key' });
    } else {
      if (this.perKey > 0) buckets.push({ name: `key:${who.keyId}`, perMinute: this.perKey, whose: 'this key' });
      if (this.perAccount > 0) buckets.push({ name: `account:${who.accountId}`, perMinute: this.perAccount, whose: 'this account (all its keys together)' });
    }
    if (buckets.length === 0) return undefined;
    // Locked in name order, so two requests never wait on each other's rows the other way round.
    buckets.sort((a, b) => (a.name < b.name ? -1 : 1));
    if (++this.calls % SWEEP_EVERY === 0) void deleteIdleRateBuckets(this.db).catch(() => undefined);
    const rows = await takeRateTokens(
      this.db,
      buckets.map((b) => b.name),
      buckets.map((b) => b.perMinute),
    );
    const stateOf = (r: Row): RateState => ({
      limit: r.burst,
      remaining: Math.max(0, Math.floor(r.tokens)),
      resetSeconds: Math.max(0, Math.ceil(((r.burst - r.tokens) * 60) / r.per_minute)),
    });
    const waiting = rows.filter((r) => r.wait_seconds > 0).sort((a, b) => b.wait_seconds - a.wait_seconds)[0];
    if (waiting) {
      const bucket = buckets.find((b) => b.name === waiting.name)!;
      const retryAfter = Math.max(1, Math.ceil(waiting.wait_seconds));
      const err = tooManyRequests(`rate limit of ${bucket.perMinute} requests a minute for ${bucket.whose} exceeded; retry in ${retryAfter}s`, retryAfter);
      Object.assign(err.headers, rateLimitHeaders(stateOf(waiting)));
      throw err;
    }
    return rows.map(stateOf).sort((a, b) => a.remaining - b.remaining)[0];
  }
}
