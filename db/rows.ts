/**
 * Raw rows to entity objects, for the hot reads (a batch's status, a key's lookup): TypeORM's
 * `find` builds its SQL and hydrates each row through its query builder, which costs the gateway
 * more CPU than the query costs Postgres. These reads write their SQL by hand and map the columns
 * they selected (any subset, by column name) to the entity's properties. Postgres's own types come
 * back as TypeORM gives them: timestamptz as Date, jsonb parsed, integer as number.
 */
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import type { DataSource, EntitySchema } from 'typeorm';

type Row = Record<string, unknown>;
const mappers = new WeakMap<DataSource, Map<string, Map<string, string>>>();

/** Column name → property name of `entity`, worked out once per data source. */
function propertiesOf(db: DataSource, entity: EntitySchema): Map<string, string> {
  let byEntity = mappers.get(db);
  if (!byEntity) mappers.set(db, (byEntity = new Map()));
  let props = byEntity.get(entity.options.name);
  if (!props) {
    props = new Map(db.getMetadata(entity).columns.map((c) => [c.databaseName, c.propertyName]));
    byEntity.set(entity.options.name, props);
  }
  return props;
}

/** The pg pool under TypeORM's Postgres driver. */
const poolOf = (db: DataSource): Pool => (db.driver as unknown as { master: Pool }).master;
const statementNames = new Map<string, string>();

/**
 * Runs `sql` on TypeORM's own pool, as a named prepared statement (parsed and planned once per
 * connection), without TypeORM's query runner: the hot reads' path. Errors are pg's own.
 */
export async function fastQuery<R extends Row = Row>(db: DataSource, sql: string, params: unknown[]): Promise<R[]> {
  let name = statementNames.get(sql);
  if (!name) {
    name = `flowruns_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
    if (statementNames.size < 1000) statementNames.set(sql, name);
  }
  return (await poolOf(db).query<R>({ name, text: sql, values: params })).rows;
}

/** Runs `sql` and maps each row's columns to `entity`'s properties; `T` names the properties selected. */
export async function selectRows<T>(db: DataSource, entity: EntitySchema, sql: string, params: unknown[]): Promise<T[]> {
  const rows = await fastQuery(db, sql, params);
  const props = propertiesOf(db, entity);
  return rows.map((row) => {
    const out: Row = {};
    for (const column in row) out[props.get(column) ?? column] = row[column];
    return out as T;
  });
}
