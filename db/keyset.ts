/**
 * Keyset paging: a page ends at the sort key of its last row, handed to the client as an opaque
 * cursor (base64url JSON). Stable under inserts and the same index range scan on page 1 and
 * page 10,000, unlike offsets.
 */
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { InvalidError } from '../domain/errors';

export type CursorKey = (string | number)[];

const invalidCursor = () =>
  new InvalidError('cursor is not valid; pass a cursor returned by this endpoint', ['cursor'], { type: 'cursor_invalid' });

export const encodeCursor = (key: CursorKey): string => Buffer.from(JSON.stringify(key)).toString('base64url');

/** The key of `arity` values a cursor carries, or InvalidError on field `cursor`. */
export function decodeCursor(cursor: string, arity: number): CursorKey {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === arity && key.every((v) => typeof v === 'string' || typeof v === 'number'))
      return key as CursorKey;
  } catch {
    // fall through to the error below
  }
  throw invalidCursor();
}

/** `(created_at, id)` of a row, as a cursor of the newest-first lists carries it. */
export type TimeKey = [string, string];

export const timeKey = (row: { createdAt: Date; id: string }): TimeKey => [row.createdAt.toISOString(), row.id];

/** A newest-first cursor's `(created_at, id)`. */
export function decodeTimeCursor(cursor: string): TimeKey {
  const [ts, id] = decodeCursor(cursor, 2);
  if (typeof ts !== 'string' || Number.isNaN(Date.parse(ts)) || typeof id !== 'string') throw invalidCursor();
  return [ts, id];
}

export interface PageQuery {
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  data: T[];
  cursor: string | null;
  hasMore: boolean;
}

/** Runs `qb` (alias `alias`, entity with `createdAt` and `id`) one page at a time, newest first on `(created_at, id)`. */
export async function keysetPage<E extends ObjectLiteral & { createdAt: Date; id: string }, T>(
  qb: SelectQueryBuilder<E>,
  alias: string,
  page: PageQuery,
  map: (row: E) => T,
): Promise<Page<T>> {
  if (page.cursor) {
    const [ts, id] = decodeTimeCursor(page.cursor);
    qb.andWhere(`(${alias}.createdAt, ${alias}.id) < (CAST(:cursorTs AS timestamptz), :cursorId)`, { cursorTs: ts, cursorId: id });
  }
  const rows = await qb
    .orderBy(`${alias}.createdAt`, 'DESC')
    .addOrderBy(`${alias}.id`, 'DESC')
    .limit(page.limit + 1)
    .getMany();
  const hasMore = rows.length > page.limit;
  const data = rows.slice(0, page.limit);
  const last = data[data.length - 1];
  return { data: data.map(map), cursor: hasMore && last ? encodeCursor(timeKey(last)) : null, hasMore };
}
