/** The TypeORM data source. Migrations run at start; the schema is never synchronized. */
import { DataSource } from 'typeorm';
import { ENTITIES } from './entities';
import { InitialSchema1732300000000 } from './migrations/1732300000000-initial-schema';
import { Suites1732400000000 } from './migrations/1732400000000-suites';
import { Secrets1732600000000 } from './migrations/1732600000000-secrets';
import { StepOutputs1732650000000 } from './migrations/1732650000000-step-outputs';
import { KeyScopes1732700000000 } from './migrations/1732700000000-key-scopes';
import { PlatformSecrets1732800000000 } from './migrations/1732800000000-platform-secrets';
import { RunPublicIds1732900000000 } from './migrations/1732900000000-run-public-ids';
import { Agents1733000000000 } from './migrations/1733000000000-agents';
import { RunLineage1733300000000 } from './migrations/1733300000000-run-lineage';
import { WebhookSecrets1733400000000 } from './migrations/1733400000000-webhook-secrets';
import { RunLogSequence1733500000000 } from './migrations/1733500000000-run-log-sequence';
import { BatchSchedule1733600000000 } from './migrations/1733600000000-batch-schedule';
import { BrowserArtifacts1733700000000 } from './migrations/1733700000000-browser-artifacts';
import { Retention1733800000000 } from './migrations/1733800000000-retention';
import { BatchOpenRuns1733850000000 } from './migrations/1733850000000-batch-open-runs';
import { FlowRunStats1733900000000 } from './migrations/1733900000000-flow-run-stats';
import { RunFinishedFunction1734000000000 } from './migrations/1734000000000-run-finished-function';
import { RunStatsStaticUpdate1734100000000 } from './migrations/1734100000000-run-stats-static-update';
import { WebhookSecretRotation1734200000000 } from './migrations/1734200000000-webhook-secret-rotation';
import { DashboardSessions1734300000000 } from './migrations/1734300000000-dashboard-sessions';
import { RunLimits1734400000000 } from './migrations/1734400000000-run-limits';
import { AgentAttempts1734500000000 } from './migrations/1734500000000-agent-attempts';
import { SharedGatewayState1734650000000 } from './migrations/1734650000000-shared-gateway-state';
import { FlakyRuns1734720000000 } from './migrations/1734720000000-flaky-runs';

export const MIGRATIONS = [InitialSchema1732300000000, Suites1732400000000, Secrets1732600000000, StepOutputs1732650000000, KeyScopes1732700000000, PlatformSecrets1732800000000, RunPublicIds1732900000000, Agents1733000000000, RunLineage1733300000000, WebhookSecrets1733400000000, RunLogSequence1733500000000, BatchSchedule1733600000000, BrowserArtifacts1733700000000, Retention1733800000000, BatchOpenRuns1733850000000, FlowRunStats1733900000000, RunFinishedFunction1734000000000, RunStatsStaticUpdate1734100000000, WebhookSecretRotation1734200000000, DashboardSessions1734300000000, RunLimits1734400000000, AgentAttempts1734500000000, SharedGatewayState1734650000000, FlakyRuns1734720000000];

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
