/** Failures a use case raises on purpose; the error middleware renders them as SPEC §6 says. */
export interface ErrorDetail {
  loc: (string | number)[];
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

export const badRequest = (message: string, loc: (string | number)[] = [], type = 'value_error'): HttpError =>
  new HttpError(400, message, loc.length ? [{ loc, msg: message, type }] : []);
export const notFound = (what: string, loc: (string | number)[] = []): HttpError =>
  new HttpError(404, `${what} not found`, loc.length ? [{ loc, msg: `${what} not found`, type: 'not_found' }] : []);
export const conflict = (message: string, loc: (string | number)[] = []): HttpError =>
  new HttpError(409, message, loc.length ? [{ loc, msg: message, type: 'conflict' }] : []);
export const unauthorized = (message = 'missing or invalid API key'): HttpError => new HttpError(401, message);
export const forbidden = (message: string): HttpError => new HttpError(403, message);
