/**
 * Raw rows to entity objects, for the hot reads (a batch's status, a key's lookup): TypeORM's
 * `find` builds its SQL and hydrates each row through its query builder, which costs the gateway
 * more CPU than the query costs Postgres. These reads write their SQL by hand and map the columns
 * they selected (any subset, by column name) to the entity's properties. Postgres's own types come
 * back as TypeORM gives them: timestamptz as Date, jsonb parsed, integer as number.
 */
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

/** Runs `sql` and maps each row's columns to `entity`'s properties; `T` names the properties selected. */
export async function selectRows<T>(db: DataSource, entity: EntitySchema, sql: string, params: unknown[]): Promise<T[]> {
  const rows: Row[] = await db.query(sql, params);
  const props = propertiesOf(db, entity);
  return rows.map((row) => {
    const out: Row = {};
    for (const column in row) out[props.get(column) ?? column] = row[column];
    return out as T;
  });
}
