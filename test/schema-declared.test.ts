/**
 * Every table is declared where a reader looks for tables (issue 24): each table and column the
 * migrations make has its entity in db/entities/ (even those only SQL reads and writes), with the
 * migrations' type, nullability, default and primary key, and no entity names a column the table
 * lacks.
 */
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { withStack } from './harness';

const stack = withStack();

interface DbColumn {
  table_name: string;
  column_name: string;
  data_type: string;
  udt_name: string;
  is_nullable: 'YES' | 'NO';
  column_default: string | null;
  datetime_precision: number | null;
  primary: boolean;
}

/** The public schema's columns as the migrations made them (TypeORM's own `migrations` table aside). */
async function dbColumns(): Promise<DbColumn[]> {
  return stack.dataSource.query(`
    SELECT c.table_name, c.column_name, c.data_type, c.udt_name, c.is_nullable, c.column_default, c.datetime_precision,
           EXISTS (SELECT 1 FROM information_schema.table_constraints t
                     JOIN information_schema.key_column_usage k ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema AND k.table_name = t.table_name
                    WHERE t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.constraint_type = 'PRIMARY KEY' AND k.column_name = c.column_name) AS primary
      FROM information_schema.columns c
      JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
     WHERE c.table_schema = 'public' AND c.table_name <> 'migrations'
     ORDER BY c.table_name, c.ordinal_position`);
}

/** The entities' columns, by `table.column`. */
function entityColumns(): Map<string, ColumnMetadata> {
  return new Map(stack.dataSource.entityMetadatas.flatMap((m) => m.columns.map((c) => [`${m.tableName}.${c.databaseName}`, c] as const)));
}

/** The column's type as information_schema names it (`text[]` for an array). */
function declaredType(c: ColumnMetadata): string {
  const t = stack.dataSource.driver.normalizeType(c);
  return c.isArray ? `${t}[]` : t;
}
const madeType = (c: DbColumn) => (c.data_type === 'ARRAY' ? `${c.udt_name.replace(/^_/, '').replace(/^timestamptz$/, 'timestamp with time zone')}[]` : c.data_type);

it('when the migrations have made a table, then an entity declares it', async () => {
  const declared = new Set(stack.dataSource.entityMetadatas.map((m) => m.tableName));
  const undeclared = [...new Set((await dbColumns()).map((c) => c.table_name))].filter((t) => !declared.has(t));
  expect({ undeclaredTables: undeclared }).toEqual({ undeclaredTables: [] });
});

it('when the migrations have made a column, then its entity declares it, and every entity column is in its table', async () => {
  const made = await dbColumns();
  const madeKeys = new Set(made.map((c) => `${c.table_name}.${c.column_name}`));
  const declared = entityColumns();
  const undeclaredColumns = [...madeKeys].filter((k) => !declared.has(k));
  const columnsNotInTheirTable = [...declared.keys()].filter((k) => !madeKeys.has(k));
  expect({ undeclaredColumns, columnsNotInTheirTable }).toEqual({ undeclaredColumns: [], columnsNotInTheirTable: [] });
});

it('when an entity declares a column, then with the type, nullability, default and primary key the migrations gave it', async () => {
  const declared = entityColumns();
  const differences: string[] = [];
  for (const c of await dbColumns()) {
    const key = `${c.table_name}.${c.column_name}`;
    const e = declared.get(key);
    if (!e) continue; // named by the test above
    if (declaredType(e) !== madeType(c)) differences.push(`${key}: type ${declaredType(e)}, the table's ${madeType(c)}`);
    if (c.data_type === 'timestamp with time zone' && (e.precision ?? 6) !== c.datetime_precision) differences.push(`${key}: precision ${e.precision ?? 6}, the table's ${c.datetime_precision}`);
    if (e.isNullable !== (c.is_nullable === 'YES')) differences.push(`${key}: ${e.isNullable ? 'nullable' : 'not null'}, the table's ${c.is_nullable === 'YES' ? 'nullable' : 'not null'}`);
    if (e.isPrimary !== c.primary) differences.push(`${key}: ${e.isPrimary ? 'primary' : 'not primary'}, the table's ${c.primary ? 'primary' : 'not primary'}`);
    const declaresDefault = e.default !== undefined || e.isGenerated || e.isCreateDate || e.isUpdateDate;
    if (declaresDefault !== (c.column_default !== null)) differences.push(`${key}: ${declaresDefault ? 'a default' : 'no default'}, the table's ${c.column_default ?? 'none'}`);
  }
  expect(differences).toEqual([]);
});
