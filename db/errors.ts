/** Postgres errors a use case answers as a client's mistake instead of a 500. */
import { QueryFailedError } from 'typeorm';

/** True for a unique-constraint violation (SQLSTATE 23505), optionally on a given constraint or index. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (!(err instanceof QueryFailedError)) return false;
  const driver = (err as QueryFailedError & { driverError?: { code?: string; constraint?: string } }).driverError ?? {};
  return driver.code === '23505' && (constraint === undefined || driver.constraint === constraint);
}

/** True for a foreign-key violation (SQLSTATE 23503), optionally on a constraint whose name ends with `suffix`: the row referred to is gone. */
export function isForeignKeyViolation(err: unknown, suffix = ''): boolean {
  if (!(err instanceof QueryFailedError)) return false;
  const driver = (err as QueryFailedError & { driverError?: { code?: string; constraint?: string } }).driverError ?? {};
  return driver.code === '23503' && (driver.constraint ?? '').endsWith(suffix);
}

/** True for a foreign-key violation on a `…_run_id_fkey`: the run the row belongs to is gone. */
export const isMissingRun = (err: unknown): boolean => isForeignKeyViolation(err, 'run_id_fkey');

/**
 * True for an error that says Postgres could not be reached or went away (refused, reset, shut
 * down, out of connections), not that the statement was wrong: waiting may make it pass.
 */
export function isOutage(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string }; message?: string } | null;
  const code = e?.driverError?.code ?? e?.code;
  if (typeof code === 'string' && /^(08|57P|53)/.test(code)) return true;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|read ECONNRESET|connect ECONNREFUSED/i.test(e?.message ?? '');
}
