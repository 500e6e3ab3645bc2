/**
 * `npm run dev`: the whole platform in one process for a fresh clone — a Temporal dev server and
 * an embedded Postgres (each unless configured), migrations, the worker(s) and the gateway — with
 * everything that must survive a restart kept under the data directory.
 */
// Tracing first (OTEL_EXPORTER_OTLP_ENDPOINT), before Express and pg load: platform/tracing.ts.
import '../../platform/tracing-start';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { loadConfig, type Config } from '../../platform/config';
import { connectionOptions, localTemporal, nativeConnectionOptions } from '../../platform/temporal-connection';
import { createEgressPolicy, describeEgress, LOOPBACK_ALLOW } from '../../activities/egress';
import { openDatabase } from '../../db/data-source';
import { startGateway } from '../gateway/server';
import { ensureRetentionSchedule } from '../worker/retention';
import { DEFAULT_RETENTION_DAYS } from '../gateway/definitions/settings/use-cases';
import { closeBrowsers, createWorkers, installRuntime } from '../worker/worker';
import { startEmbeddedPostgres } from './postgres';
import { writeDevStack } from './stack-file';
import { dataConverterFor, generatePayloadKeys, parsePayloadKeys, type PayloadKey } from '../../platform/payload-codec';
import { ensureSearchAttributes } from '../../platform/search-attributes';
import { tracing } from '../../platform/tracing';
import { resolveTemporalBinary, startTemporalDevServer } from './temporal';

const log = (message: string): void => {
  process.stdout.write(`[dev] ${message}\n`);
};

/** FLOWRUNS_ADMIN_KEY, else a key generated on first start and kept in the data dir, so restarts keep it. */
function adminKey(config: Config): string {
  if (config.adminKey) return config.adminKey;
  const file = path.join(config.dataDir, 'admin-key');
  if (fs.existsSync(file)) {
    const stored = fs.readFileSync(file, 'utf8').trim();
    if (stored.length >= 8) return stored;
  }
  const key = `fr_admin_${randomBytes(24).toString('base64url')}`;
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/** FLOWRUNS_PAYLOAD_KEYS, else a key generated on first start and kept in the data dir, so restarts read old payloads. */
function payloadKeys(config: Config): PayloadKey[] {
  if (config.payloadKeys) return config.payloadKeys;
  const file = path.join(config.dataDir, 'payload-keys');
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${generatePayloadKeys('dev1')}\n`, { mode: 0o600 });
  return parsePayloadKeys(fs.readFileSync(file, 'utf8').trim());
}

function portOf(address: string, fallback: number): number {
  const port = Number.parseInt(address.slice(address.lastIndexOf(':') + 1), 10);
  return Number.isInteger(port) ? port : fallback;
}

/** Shutdown steps, run in the order they were registered; each runs once, failures are reported and skipped. */
class Shutdown {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];
  private running: Promise<void> | undefined;

  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps) {
        try {
          await step.run();
          log(`stopped ${step.name}`);
        } catch (err) {
          log(`stopping ${step.name} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    })();
    return this.running;
  }
}

async function main(): Promise<void> {
  // The dev stack's flows call services on this machine: loopback is open unless FLOWRUNS_EGRESS_ALLOW says otherwise.
  const loaded = loadConfig({ ...process.env, FLOWRUNS_EGRESS_ALLOW: process.env.FLOWRUNS_EGRESS_ALLOW ?? LOOPBACK_ALLOW.join(',') });
  log(describeEgress(createEgressPolicy(loaded.egressAllow)));
  // installRuntime leaves signals to this process, which drains the gateway before the workers.
  installRuntime(loaded.logLevel ?? 'WARN', loaded.sdkMetricsAddress);
  const logsDir = path.join(loaded.dataDir, 'logs');
  fs.mkdirSync(logsDir, { recursive: true });
  const config: Config = { ...loaded, adminKey: adminKey(loaded), payloadKeys: payloadKeys(loaded) };

  /** Registered as things start, run in this order: gateway, workers, connections and pool, Temporal server, Postgres. */
  const stopGateway = new Shutdown();
  const stopWorkers = new Shutdown();
  const stopConnections = new Shutdown();
  const stopServices = new Shutdown();
  const stopPostgres = new Shutdown();
  const stopAll = async (): Promise<void> => {
    for (const group of [stopGateway, stopWorkers, stopConnections, stopServices, stopPostgres]) await group.run();
  };

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      log(`${signal} again: forcing exit`);
      process.exit(130);
    }
    log(`${signal}: shutting down (press Ctrl-C again to force)`);
    stopAll().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    let temporalAddress = config.temporalAddress;
    // "Use my server" (TEMPORAL_ADDRESS or a profile): its TLS, API key and namespace; else the dev server started here.
    let temporalSettings = config.temporal;
    let uiUrl: string | undefined;
    const postgres = config.databaseUrl
      ? Promise.resolve({ url: config.databaseUrl, embedded: false })
      : startEmbeddedPostgres({ dir: path.join(config.dataDir, 'pg'), port: 0, logFile: path.join(logsDir, 'postgres.log') }).then((pg) => {
          stopPostgres.add('Postgres', pg.stop);
          return { url: pg.url, embedded: true };
        });
    const temporal = (async () => {
      if (!config.temporalAddressDefaulted) {
        const connection = await Connection.connect(connectionOptions(temporalSettings));
        try {
          await ensureSearchAttributes(connection, config.namespace);
        } finally {
          await connection.close();
        }
        return;
      }
      const binary = await resolveTemporalBinary({ log: (m) => log(m) });
      const server = await startTemporalDevServer({
        binary,
        port: portOf(temporalAddress, 7233),
        uiPort: 8233,
        dbFile: path.join(config.dataDir, 'temporal.db'),
        namespace: config.namespace,
        logFile: path.join(logsDir, 'temporal.log'),
        // Histories are kept as long as runs are by default (GET /api/v1/settings), so rerun and resume find their inputs.
        retentionDays: DEFAULT_RETENTION_DAYS,
        // The gateway starts after Temporal, on PORT: its codec endpoint is known already (unless PORT=0).
        ...(config.publicUrl || config.port ? { codecEndpoint: `${config.publicUrl ?? `http://127.0.0.1:${config.port}`}/api/v1/codec` } : {}),
      });
      stopServices.add('Temporal dev server', server.stop);
      temporalAddress = server.address;
      temporalSettings = localTemporal(server.address, config.namespace);
      uiUrl = server.uiUrl;
    })();
    const [pg] = await Promise.all([postgres, temporal]);
    log(`Postgres ready${pg.embedded ? ` (embedded, data in ${path.join(config.dataDir, 'pg')})` : ''}; Temporal at ${temporalAddress}`);

    const dataSource: DataSource = await openDatabase(pg.url);
    stopConnections.add('database pool', () => dataSource.destroy());
    const runConfig: Config = { ...config, databaseUrl: pg.url, temporalAddress, temporal: temporalSettings };

    const nativeConnection = await NativeConnection.connect(nativeConnectionOptions(temporalSettings));
    stopConnections.add('worker connection', () => nativeConnection.close());
    const workers: Worker[] = await createWorkers({ config: runConfig, dataSource, connection: nativeConnection });
    const running = workers.map((worker) =>
      worker.run().catch((err: unknown) => {
        log(`worker failed: ${err instanceof Error ? err.message : String(err)}`);
        if (signals === 0) onSignal('SIGTERM');
      }),
    );
    stopWorkers.add(`${workers.length} worker(s)`, async () => {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await Promise.all(running);
      await closeBrowsers();
    });

    const clientConnection = await Connection.connect(connectionOptions(temporalSettings));
    stopConnections.add('client connection', () => clientConnection.close());
    const traced = tracing();
    const client = new Client({ connection: clientConnection, namespace: config.namespace, dataConverter: dataConverterFor(config.payloadKeys), ...(traced ? { interceptors: traced.clientInterceptors } : {}) });
    await ensureRetentionSchedule(client, runConfig.taskQueue);
    const gateway = await startGateway({ config: runConfig, dataSource, client });
    stopGateway.add('gateway', gateway.stop);
    const removeStackFile = writeDevStack(config.dataDir, { databaseUrl: pg.url, temporalAddress, payloadKeys: config.payloadKeys, gatewayUrl: gateway.url, adminKey: runConfig.adminKey });
    stopGateway.add('stack file', async () => removeStackFile());

    const lines = [
      '',
      'Flow Runs is up.',
      `  API          ${gateway.url}   (docs ${gateway.url}/docs)`,
      `  Temporal UI  ${uiUrl ?? `(external server at ${temporalAddress})`}`,
      `  Histories    temporal workflow show -w run-<runId> --address ${temporalAddress} --codec-endpoint ${gateway.url}/api/v1/codec --codec-auth "Bearer $FLOWRUNS_ADMIN_KEY"`,
      `  Admin key    ${config.adminKey}${loaded.adminKey ? '' : `   (kept in ${path.join(config.dataDir, 'admin-key')})`}`,
      `  Logs         ${logsDir}`,
      `  Agent        npm run agent -- --name my-laptop     (in another terminal; talks to this gateway with its admin key)`,
      `  Try          curl -H "X-API-Key: ${config.adminKey}" ${gateway.url}/api/v1/flows`,
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } catch (err) {
    log(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll();
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
