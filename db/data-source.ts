/** The TypeORM data source. Migrations run at start; the schema is never synchronized. */
import { DataSource } from 'typeorm';
import { ENTITIES } from './entities';
import { InitialSchema1732300000000 } from './migrations/1732300000000-initial-schema';
import { Suites1732400000000 } from './migrations/1732400000000-suites';
import { Secrets1732600000000 } from './migrations/1732600000000-secrets';
import { StepOutputs1732650000000 } from './migrations/1732650000000-step-outputs';
import { KeyScopes1732700000000 } from './migrations/1732700000000-key-scopes';
import { PlatformSecrets1732800000000 } from './migrations/1732800000000-platform-secrets';

export const MIGRATIONS = [InitialSchema1732300000000, Suites1732400000000, Secrets1732600000000, StepOutputs1732650000000, KeyScopes1732700000000, PlatformSecrets1732800000000];

export function createDataSource(url: string, options: { poolSize?: number } = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    logging: ['error'],
    poolSize: options.poolSize ?? 10,
  });
}

/** Connects and brings the schema up to date; concurrent callers serialize on an advisory lock. */
export async function openDatabase(url: string, options: { poolSize?: number } = {}): Promise<DataSource> {
  const ds = createDataSource(url, options);
  await ds.initialize();
  const lock = ds.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(727401)');
    await ds.runMigrations({ transaction: 'all' });
  } finally {
    await lock.query('SELECT pg_advisory_unlock(727401)').catch(() => undefined);
    await lock.release();
  }
  return ds;
}

const platformSecrets = new WeakMap<DataSource, Map<string, Promise<string>>>();

/** A platform-wide secret created by the migrations (e.g. `derived-ids`), read once per data source. */
export function platformSecret(ds: DataSource, name: string): Promise<string> {
  let byName = platformSecrets.get(ds);
  if (!byName) platformSecrets.set(ds, (byName = new Map()));
  let value = byName.get(name);
  if (!value) {
    value = ds.query('SELECT value FROM platform_secrets WHERE name = $1', [name]).then((rows: { value: string }[]) => {
      if (!rows[0]) throw new Error(`platform secret ${name} is missing: run the migrations`);
      return rows[0].value;
    });
    value.catch(() => byName!.delete(name));
    byName.set(name, value);
  }
  return value;
}
