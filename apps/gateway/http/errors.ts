/**
 * The HTTP face of failures: the error shape every response uses (docs/api-contracts.md), and
 * the mapping of a use case's domain errors onto it — status by kind, `loc` from the route's
 * field locations.
 */
import type { DomainError, DomainErrorKind, FieldPath } from '../../../domain/errors';

export type Loc = (string | number)[];

export interface ErrorDetail {
  loc: Loc;
  msg: string;
  type: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly detail: ErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, loc: Loc = [], type = 'value_error'): HttpError =>
  new HttpError(400, message, loc.length ? [{ loc, msg: message, type }] : []);
export const unauthorized = (message = 'missing or invalid API key'): HttpError => new HttpError(401, message);
export const forbidden = (message: string): HttpError => new HttpError(403, message);
export const tooManyRequests = (message: string, retryAfterSeconds: number): HttpError =>
  new HttpError(429, message, [], { 'Retry-After': String(retryAfterSeconds) });

/**
 * Where a use case's input came from in the request, by the first segment of a domain error's
 * field: `{ flowIds: ['body', 'flow_ids'] }` puts `['flowIds', 2]` at `['body', 'flow_ids', 2]`;
 * a function decides the whole location itself (`{ flowIds: () => ['path', 'flowId'] }`).
 */
export type FieldLocations = Record<string, Loc | ((field: FieldPath) => Loc)>;

/** `at('path', 'runId', 'stepId')` → `{ runId: ['path', 'runId'], stepId: ['path', 'stepId'] }`. */
export const at = (where: 'path' | 'query' | 'body', ...names: string[]): FieldLocations =>
  Object.fromEntries(names.map((n) => [n, [where, n]]));

/** Request parts every route has in the same place. */
const COMMON_LOCATIONS: FieldLocations = {
  idempotencyKey: ['header', 'Idempotency-Key'],
  cursor: ['query', 'cursor'],
};

/** A field with no location is shown as the use case named it. */
function locate(field: FieldPath, locations: FieldLocations): Loc {
  const [head, ...rest] = field;
  const where = typeof head === 'string' ? (locations[head] ?? COMMON_LOCATIONS[head]) : undefined;
  if (!where) return [...field];
  return typeof where === 'function' ? where(field) : [...where, ...rest];
}

const STATUS: Record<DomainErrorKind, number> = {
  not_found: 404,
  conflict: 409,
  invalid: 400,
  forbidden: 403,
  unavailable: 503,
  idempotency_mismatch: 422,
};

const DEFAULT_TYPE: Record<DomainErrorKind, string> = {
  not_found: 'not_found',
  conflict: 'conflict',
  invalid: 'value_error',
  forbidden: 'forbidden',
  unavailable: 'unavailable',
  idempotency_mismatch: 'idempotency_key_reused',
};

/** The HTTP error for a domain error; `invalidStatus` is the route's status for a client's mistake (400, or 422 where a contract says so). */
export function fromDomainError(err: DomainError, locations: FieldLocations = {}, invalidStatus = 400): HttpError {
  const status = err.kind === 'invalid' ? invalidStatus : STATUS[err.kind];
  const detail: ErrorDetail[] = err.field?.length
    ? [{ loc: locate(err.field, locations), msg: err.options.fieldMessage ?? err.message, type: err.options.type ?? DEFAULT_TYPE[err.kind] }]
    : [];
  // A service that did not answer: the client retries, after a few seconds.
  return new HttpError(status, err.message, detail, err.kind === 'unavailable' ? { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S) } : undefined);
}

/** The `Retry-After` of a 503. */
const UNAVAILABLE_RETRY_AFTER_S = 5;
