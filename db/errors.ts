/** Postgres errors a use case answers as a client's mistake instead of a 500. */
import { QueryFailedError } from 'typeorm';

/** True for a unique-constraint violation (SQLSTATE 23505), optionally on a given constraint or index. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (!(err instanceof QueryFailedError)) return false;
  const driver = (err as QueryFailedError & { driverError?: { code?: string; constraint?: string } }).driverError ?? {};
  return driver.code === '23505' && (constraint === undefined || driver.constraint === constraint);
}
