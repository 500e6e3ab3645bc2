/**
 * Worker entry: `npm run start:worker` (built) or `npm run worker` (from source). Without
 * DATABASE_URL and TEMPORAL_ADDRESS it joins the running `npm run dev` stack. A platform worker
 * only: an account's agent is `npm run agent` (apps/agent), which never talks to Temporal.
 */
import '../../platform/tracing-start';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { openDatabase } from '../../db/data-source';
import { createEgressPolicy, describeEgress, LOOPBACK_ALLOW } from '../../activities/egress';
import { readDevStack } from '../dev/stack-file';
import { loadConfig, requirePayloadKeys, type Config } from '../../platform/config';
import { serveMetrics, type HealthProbe } from '../../platform/metrics';
import { dataConverterFor } from '../../platform/payload-codec';
import { describeTemporal, localTemporal, nativeConnectionOptions } from '../../platform/temporal-connection';
import { tracing } from '../../platform/tracing';
import { ensureRetentionSchedule } from './retention';
import { closeBrowsers, createWorkers, installRuntime, workerIdentity } from './worker';

/** With neither DATABASE_URL nor TEMPORAL_ADDRESS set, the stack a running `npm run dev` wrote down. */
function joinDevStack(config: Config): Config {
  if (config.databaseUrl || !config.temporalAddressDefaulted) return config;
  const stack = readDevStack(config.dataDir);
  if (!stack) return config;
  console.log(`joining the npm run dev stack: Temporal ${stack.temporalAddress}, from ${config.dataDir}/dev-stack.json`);
  // Like the dev stack's own worker: flows call services on this machine.
  const egressAllow = process.env.FLOWRUNS_EGRESS_ALLOW === undefined ? [...LOOPBACK_ALLOW] : config.egressAllow;
  return {
    ...config,
    databaseUrl: stack.databaseUrl,
    temporalAddress: stack.temporalAddress,
    temporalAddressDefaulted: false,
    temporal: localTemporal(stack.temporalAddress, config.namespace),
    egressAllow,
    payloadKeys: config.payloadKeys ?? stack.payloadKeys,
  };
}

async function runPlatformWorker(config: Config): Promise<void> {
  if (!config.databaseUrl)
    throw new Error('DATABASE_URL is required for the worker; or start `npm run dev` first and this worker joins its stack');
  const dataSource = await openDatabase(config.databaseUrl);
  const connection = await NativeConnection.connect(nativeConnectionOptions(config.temporal));
  const workers = await createWorkers({ config, dataSource, connection });
  await ensureRetentionSchedule(new Client({ connection, namespace: config.namespace, dataConverter: dataConverterFor(config.payloadKeys) }), config.taskQueue);
  // Probes for orchestrators beside the metrics: live while every worker runs, ready while Postgres answers too.
  const health: HealthProbe = {
    live: () => workers.every((w) => w.getState() === 'RUNNING'),
    ready: async () => {
      const running = workers.every((w) => w.getState() === 'RUNNING');
      const postgres = await dataSource.query('SELECT 1').then(() => 'ok', (err: Error) => err.message);
      return { ok: running && postgres === 'ok', detail: { workers: running ? 'running' : 'stopping', postgres } };
    },
  };
  const stopMetrics = config.metricsPort ? await serveMetrics(config.metricsPort, '0.0.0.0', health) : undefined;
  if (config.metricsPort) console.log(`metrics on http://127.0.0.1:${config.metricsPort}/metrics, probes /healthz and /readyz`);
  const stop = () => workers.forEach((w) => w.shutdown());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(describeEgress(createEgressPolicy(config.egressAllow)));
  console.log(`worker ${workerIdentity()} polling ${config.taskQueue} on ${describeTemporal(config.temporal)}`);
  await Promise.all(workers.map((w) => w.run()));
  await closeBrowsers();
  await stopMetrics?.();
  await connection.close();
  await dataSource.destroy();
  await tracing()?.shutdown();
}

async function main(): Promise<void> {
  if (process.argv.slice(2).some((a) => a === '--agent' || a.startsWith('--agent=')))
    throw new Error('a worker is no longer an agent: start `npm run agent -- --name NAME` with FLOWRUNS_URL and FLOWRUNS_API_KEY');
  const config = joinDevStack(loadConfig(process.env));
  installRuntime(config.logLevel ?? 'INFO', config.sdkMetricsAddress);
  requirePayloadKeys(config);
  await runPlatformWorker(config);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
