/**
 * Worker entry: `npm run start:worker [-- --agent NAME]` (built) or `npm run worker [-- --agent NAME]`
 * (from source). Without DATABASE_URL and TEMPORAL_ADDRESS it joins the running `npm run dev` stack.
 */
import { NativeConnection } from '@temporalio/worker';
import { openDatabase } from '../../db/data-source';
import { createEgressPolicy, describeEgress, LOOPBACK_ALLOW } from '../../activities/egress';
import { readDevStack } from '../dev/stack-file';
import { agentTaskQueue, loadConfig, requirePayloadKeys, type Config } from '../config';
import { createWorkers, installRuntime, workerIdentity } from './worker';

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
  console.log(`joining the npm run dev stack: Temporal ${stack.temporalAddress}, Postgres from ${config.dataDir}/dev-stack.json`);
  // Like the dev stack's own worker: flows call services on this machine.
  const egressAllow = process.env.FLOWRUNS_EGRESS_ALLOW === undefined ? [...LOOPBACK_ALLOW] : config.egressAllow;
  return {
    ...config,
    databaseUrl: stack.databaseUrl,
    temporalAddress: stack.temporalAddress,
    temporalAddressDefaulted: false,
    egressAllow,
    payloadKeys: config.payloadKeys ?? stack.payloadKeys,
  };
}

async function main(): Promise<void> {
  const agent = agentFlag(process.argv.slice(2));
  const config = joinDevStack(loadConfig(agent ? { ...process.env, AGENT_NAME: agent } : process.env));
  installRuntime(config.logLevel ?? 'INFO');
  requirePayloadKeys(config);
  if (!config.databaseUrl)
    throw new Error('DATABASE_URL is required for the worker; or start `npm run dev` first and this worker joins its stack');
  const dataSource = await openDatabase(config.databaseUrl);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const workers = await createWorkers({ config, dataSource, connection });
  const stop = () => workers.forEach((w) => w.shutdown());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const agentQueue = config.agentName ? ` and ${agentTaskQueue(config.agentName)}` : '';
  console.log(describeEgress(createEgressPolicy(config.egressAllow)));
  console.log(`worker ${workerIdentity(config.agentName)} polling ${config.taskQueue}${agentQueue} on ${config.temporalAddress}`);
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
  await dataSource.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
