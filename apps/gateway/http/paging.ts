/** The wire shape of the definition lists: `?limit&cursor` in, `{ data, cursor, hasMore }` out, newest first (db/keyset.ts). */
import { z } from 'zod';

export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).optional(),
});

/** Response schema of a page of `item`s. */
export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), cursor: z.string().nullable(), hasMore: z.boolean() });
