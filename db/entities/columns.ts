/** Column shapes the entities share, and the type of a jsonb value. */

/** A JSON value as stored in a jsonb column. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- jsonb holds any JSON; TypeORM's deep-partial types cannot recurse into a JSON union
export type Json = any;

export const text = { type: 'text' as const };
export const textNull = { type: 'text' as const, nullable: true };
export const jsonb = { type: 'jsonb' as const };
export const jsonbNull = { type: 'jsonb' as const, nullable: true };
/** jsonb `NOT NULL DEFAULT '{}'` and `DEFAULT '[]'`. */
export const jsonbObject = { ...jsonb, default: () => "'{}'" };
export const jsonbList = { ...jsonb, default: () => "'[]'" };
export const textArray = { type: 'text' as const, array: true, default: () => "'{}'" };
export const ts = (name: string) => ({ type: 'timestamptz' as const, precision: 3, name });
export const tsNull = (name: string) => ({ ...ts(name), nullable: true });
/** A bare `timestamptz` (microseconds), as the migrations that add one without `(3)` make it. */
export const tsFull = (name: string) => ({ type: 'timestamptz' as const, name });
export const tsFullNull = (name: string) => ({ ...tsFull(name), nullable: true });
/** `DEFAULT now()` of a timestamp column. */
export const now = () => 'now()';
export const int = { type: 'integer' as const };
export const intNull = { type: 'integer' as const, nullable: true };
/** Postgres bigint: read back as a string (it may exceed a JavaScript number). */
export const bigint = { type: 'bigint' as const };
/** A `bigserial`: a bigint the database numbers from its own sequence (read back as a string). */
export const bigserial = { type: 'bigint' as const, generated: 'increment' as const };
export const double = { type: 'double precision' as const };
