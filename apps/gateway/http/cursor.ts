/**
 * Opaque keyset cursors: the sort key of the last row seen, base64url-encoded JSON.
 * Stable under inserts and the same cost on any page, unlike offsets.
 */
import { badRequest } from './errors';

export type CursorKey = (string | number)[];

export const encodeCursor = (key: CursorKey): string => Buffer.from(JSON.stringify(key)).toString('base64url');

/** Decodes a cursor of `arity` values, or answers 400 naming `loc`. */
export function decodeCursor(cursor: string, arity: number, loc: (string | number)[] = ['query', 'cursor']): CursorKey {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === arity && key.every((v) => typeof v === 'string' || typeof v === 'number'))
      return key as CursorKey;
  } catch {
    // fall through to the 400 below
  }
  throw badRequest('cursor is not valid; pass a cursor returned by this endpoint', loc, 'cursor_invalid');
}
