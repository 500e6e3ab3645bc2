/** Turns zod issues into the error shape, so every surface names the failing field the same way. */
import type { z } from 'zod';
import { HttpError, type ErrorDetail, type Loc } from './errors';

/** `body.steps[2].dependsOn[0]`: the form a human reads in the one-line `error`. */
function formatLoc(loc: Loc): string {
  return loc.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}

/** Zod prefixes type errors with "Invalid input: "; the location already says that much. */
const tidy = (message: string): string => message.replace(/^Invalid input: /, '');

/**
 * One detail per issue; an unknown key (a strict object's `unrecognized_keys`) is named by its own
 * path, one detail per key, so `methd` in a step's config reads `body.steps[0].config.methd`.
 */
export function issuesToDetail(issues: readonly z.core.$ZodIssue[], prefix: 'body' | 'query' | 'path'): ErrorDetail[] {
  return issues.flatMap((issue): ErrorDetail[] => {
    const loc: Loc = [prefix, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({ loc: [...loc, key], msg: 'unknown key', type: issue.code }));
    return [{ loc, msg: tidy(issue.message), type: issue.code }];
  });
}

/** A validation failure answered with `status`, its message naming the first failing field. */
export function validationError(detail: ErrorDetail[], status = 400): HttpError {
  const first = detail[0];
  const message = first ? `${formatLoc(first.loc)}: ${first.msg}` : 'invalid request';
  return new HttpError(status, message, detail);
}
