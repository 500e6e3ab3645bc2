/**
 * Keyset paging of the definition lists, newest first on `(created_at, id)`: the same index
 * range scan on page 1 and page 10,000, and no row skipped or repeated when rows are inserted.
 */
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { z } from 'zod';
import { decodeCursor, encodeCursor } from './cursor';
import { badRequest } from './errors';

export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).optional(),
});
export type PageQuery = z.infer<typeof pageQuerySchema>;

export interface Page<T> {
  data: T[];
  cursor: string | null;
  hasMore: boolean;
}

/** Response schema of a page, for the OpenAPI document. */
export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), cursor: z.string().nullable(), hasMore: z.boolean() });

/** Runs `qb` (alias `alias`, entity with `createdAt` and `id`) one page at a time. */
export async function keysetPage<E extends ObjectLiteral & { createdAt: Date; id: string }, T>(
  qb: SelectQueryBuilder<E>,
  alias: string,
  page: PageQuery,
  map: (row: E) => T,
): Promise<Page<T>> {
  if (page.cursor) {
    const [ts, id] = decodeCursor(page.cursor, 2);
    if (typeof ts !== 'string' || Number.isNaN(Date.parse(ts)) || typeof id !== 'string')
      throw badRequest('cursor is not valid; pass a cursor returned by this endpoint', ['query', 'cursor'], 'cursor_invalid');
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
  return {
    data: data.map(map),
    cursor: hasMore && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null,
    hasMore,
  };
}
