/**
 * Failures a use case raises on purpose. They know nothing of HTTP: `field` names the input in
 * the use case's own terms (`['flowIds', 2]`, `['appId']`), and the edge that called the use
 * case maps it to where the client sent it and to a status.
 */
export type FieldPath = readonly (string | number)[];

export type DomainErrorKind = 'not_found' | 'conflict' | 'invalid' | 'forbidden' | 'unavailable' | 'idempotency_mismatch';

export interface DomainErrorOptions {
  /** Machine-readable reason; each kind has a default. */
  type?: string;
  /** The field's own message when it differs from the error's one-line message. */
  fieldMessage?: string;
}

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;

  constructor(
    message: string,
    readonly field?: FieldPath,
    readonly options: DomainErrorOptions = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** `what` does not exist, or belongs to another account. */
export class NotFoundError extends DomainError {
  readonly kind = 'not_found';
  constructor(what: string, field?: FieldPath) {
    super(`${what} not found`, field);
  }
}

/** The request is well formed but contradicts the current state. */
export class ConflictError extends DomainError {
  readonly kind = 'conflict';
}

/** The input breaks a rule the request schema cannot express. */
export class InvalidError extends DomainError {
  readonly kind = 'invalid';
}

/** The caller may not do this. */
export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden';
}

/** A service the use case needs (Temporal) did not answer; the client should retry. */
export class UnavailableError extends DomainError {
  readonly kind = 'unavailable';
}

/** An idempotency key was sent again with a different request. */
export class IdempotencyMismatchError extends DomainError {
  readonly kind = 'idempotency_mismatch';
  constructor() {
    super('Idempotency-Key was already used with a different request', ['idempotencyKey'], {
      type: 'idempotency_key_reused',
      fieldMessage: 'reused with a different request body',
    });
  }
}
