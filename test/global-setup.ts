/**
 * Provisions the real services every test runs against: a Temporal dev server (unless
 * TEMPORAL_ADDRESS is set) and a fresh, migrated database on DATABASE_URL's server or on an
 * embedded Postgres. Tests read what they need from process.env; teardown reads `globalThis`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDatabase } from '../db/data-source';
import { ensureDatabase, startEmbeddedPostgres, withDatabase } from '../apps/dev/postgres';
import { resolveTemporalBinary, startTemporalDevServer } from '../apps/dev/temporal';
import { ensureSearchAttributes } from '../platform/search-attributes';
import { generatePayloadKeys } from '../platform/payload-codec';
import { Connection } from '@temporalio/client';

export interface TestInfra {
  tmpDir: string;
  adminUrl: string;
  database: string;
  stopTemporal?: () => Promise<void>;
  stopPostgres?: () => Promise<void>;
}

declare global {
  var __FLOWRUNS_TEST_INFRA__: TestInfra | undefined;
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-test-'));
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const binary = await resolveTemporalBinary();
  process.env.FLOWRUNS_TEST_TEMPORAL_BINARY = binary;
  process.env.TEMPORAL_NAMESPACE = namespace;
  // Every stack of the run encrypts its Temporal payloads with one key, as a deployment does.
  process.env.FLOWRUNS_PAYLOAD_KEYS ??= generatePayloadKeys('test');
  // Structured logs at warn and above only, so a test run's output stays readable.
  process.env.LOG_LEVEL ??= 'WARN';

  const infra: TestInfra = { tmpDir, adminUrl: '', database: '' };
  globalThis.__FLOWRUNS_TEST_INFRA__ = infra;

  const temporal = process.env.TEMPORAL_ADDRESS
    ? registerAttributes(process.env.TEMPORAL_ADDRESS, namespace)
    : startTemporalDevServer({ binary, port: 0, headless: true, namespace, logFile: path.join(tmpDir, 'temporal.log') }).then((server) => {
        infra.stopTemporal = server.stop;
        process.env.TEMPORAL_ADDRESS = server.address;
      });
  const postgres = process.env.DATABASE_URL
    ? Promise.resolve(withDatabase(process.env.DATABASE_URL, 'postgres'))
    : startEmbeddedPostgres({ dir: path.join(tmpDir, 'pg'), port: 0, database: 'postgres' }).then((pg) => {
        infra.stopPostgres = pg.stop;
        return pg.adminUrl;
      });
  const [, adminUrl] = await Promise.all([temporal, postgres]);

  infra.adminUrl = adminUrl;
  infra.database = `flowruns_test_${randomBytes(6).toString('hex')}`;
  await ensureDatabase(adminUrl, infra.database);
  const url = withDatabase(adminUrl, infra.database);
  const dataSource = await openDatabase(url);
  await dataSource.destroy();
  process.env.DATABASE_URL = url;
  process.stderr.write(`\n[test infra] Temporal ${process.env.TEMPORAL_ADDRESS}, Postgres database ${infra.database}, ready in ${Date.now() - started}ms\n`);
}

async function registerAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await ensureSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
}
