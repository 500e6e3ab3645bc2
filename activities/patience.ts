/**
 * Records written from inside a step wait out a Postgres outage: a write that fails because the
 * database is unreachable is tried again (every 250 ms, backing off to 5 s, heartbeating so
 * Temporal knows the attempt is alive) for up to FLOWRUNS_RECORD_PATIENCE_MS. So a database
 * that is down for a while delays the records but never fails the step or repeats its work
 * (its HTTP call, its page); any other error fails at once as before.
 */
import { Context } from '@temporalio/activity';
import { isOutage } from '../db/errors';

export const DEFAULT_RECORD_PATIENCE_MS = 5 * 60_000;

/** Calls `write` until it passes, an error that is not an outage happens, or `patienceMs` is spent. */
export async function patiently<T>(write: () => Promise<T>, patienceMs: number): Promise<T> {
  const deadline = Date.now() + patienceMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await write();
    } catch (err) {
      if (!isOutage(err) || Date.now() + delay > deadline) throw err;
      if (Context.current) {
        try {
          Context.current().heartbeat();
        } catch {
          // Not inside an activity: nothing to tell Temporal.
        }
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** `target` with every method wrapped in `patiently`. */
export function patient<T extends object>(target: T, patienceMs: number): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => patiently(() => (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args), patienceMs);
    },
  });
}
