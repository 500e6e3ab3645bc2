/**
 * Worker entry: `npm run start:worker` (built) or `npm run worker` (from source). Without
 * DATABASE_URL and TEMPORAL_ADDRESS it joins the running `npm run dev` stack.
 *
 * With `--agent NAME` (or AGENT_NAME) it is an agent of one account instead: it registers with
 * the gateway (FLOWRUNS_URL) using the account's key (FLOWRUNS_API_KEY), then runs the activity
 * steps of that account's runs sent to the agent. An agent opens no database connection.
 */
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { openDatabase } from '../../db/data-source';
import { createEgressPolicy, describeEgress, LOOPBACK_ALLOW } from '../../activities/egress';
import { readDevStack } from '../dev/stack-file';
import { loadConfig, requirePayloadKeys, type Config } from '../config';
import { serveMetrics } from '../metrics';
import { dataConverterFor } from '../payload-codec';
import { ensureRetentionSchedule } from './retention';
import { closeBrowsers, createAgentWorker, createWorkers, installRuntime, workerIdentity } from './worker';

/** `--agent NAME` or `--agent=NAME`; it wins over AGENT_NAME. */
function agentFlag(argv: string[]): string | undefined {
  const i = argv.indexOf('--agent');
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith('--agent='))?.slice('--agent='.length);
}

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
    // An agent needs no database; the platform worker takes the dev stack's.
    databaseUrl: config.agentName ? undefined : stack.databaseUrl,
    temporalAddress: stack.temporalAddress,
    temporalAddressDefaulted: false,
    egressAllow,
    payloadKeys: config.payloadKeys ?? stack.payloadKeys,
    gatewayUrl: config.gatewayUrl ?? stack.gatewayUrl,
    apiKey: config.apiKey ?? stack.adminKey,
  };
}

/** Registers the agent with its account and answers the task queue to poll. */
async function register(config: Config, name: string): Promise<string> {
  if (!config.gatewayUrl || !config.apiKey)
    throw new Error('an agent registers with its account: set FLOWRUNS_URL (the gateway) and FLOWRUNS_API_KEY (a key of the account), or start `npm run dev` first');
  const url = `${config.gatewayUrl}/api/v1/agents/${encodeURIComponent(name)}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'PUT', headers: { 'X-API-Key': config.apiKey }, signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    throw new Error(`could not reach the gateway at ${config.gatewayUrl} to register agent ${name}: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => null)) as { taskQueue?: string; title?: string; detail?: unknown } | null;
  if (!res.ok || typeof body?.taskQueue !== 'string')
    throw new Error(`the gateway refused to register agent ${name} (HTTP ${res.status}): ${JSON.stringify(body)}`);
  return body.taskQueue;
}

async function runAgent(config: Config, name: string): Promise<void> {
  const taskQueue = await register(config, name);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const worker = await createAgentWorker(config, connection, taskQueue);
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(describeEgress(createEgressPolicy(config.egressAllow)));
  console.log(`agent ${workerIdentity(name)} registered with ${config.gatewayUrl}; polling ${taskQueue} on ${config.temporalAddress} (no database connection: the platform records its steps)`);
  await worker.run();
  await closeBrowsers();
  await connection.close();
}

async function runPlatformWorker(config: Config): Promise<void> {
  if (!config.databaseUrl)
    throw new Error('DATABASE_URL is required for the worker; or start `npm run dev` first and this worker joins its stack');
  const dataSource = await openDatabase(config.databaseUrl);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const workers = await createWorkers({ config, dataSource, connection });
  await ensureRetentionSchedule(new Client({ connection, namespace: config.namespace, dataConverter: dataConverterFor(config.payloadKeys) }), config.taskQueue);
  const stopMetrics = config.metricsPort ? await serveMetrics(config.metricsPort) : undefined;
  if (config.metricsPort) console.log(`metrics on http://127.0.0.1:${config.metricsPort}/metrics`);
  const stop = () => workers.forEach((w) => w.shutdown());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(describeEgress(createEgressPolicy(config.egressAllow)));
  console.log(`worker ${workerIdentity()} polling ${config.taskQueue} on ${config.temporalAddress}`);
  await Promise.all(workers.map((w) => w.run()));
  await closeBrowsers();
  await stopMetrics?.();
  await connection.close();
  await dataSource.destroy();
}

async function main(): Promise<void> {
  const agent = agentFlag(process.argv.slice(2));
  const config = joinDevStack(loadConfig(agent ? { ...process.env, AGENT_NAME: agent } : process.env));
  installRuntime(config.logLevel ?? 'INFO', config.sdkMetricsAddress);
  requirePayloadKeys(config);
  if (config.agentName) await runAgent(config, config.agentName);
  else await runPlatformWorker(config);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
