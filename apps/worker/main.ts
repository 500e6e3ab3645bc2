/** Production worker entry: `npm run start:worker [-- --agent NAME]`. */
import { NativeConnection } from '@temporalio/worker';
import { openDatabase } from '../../db/data-source';
import { loadConfig } from '../config';
import { createWorkers, installRuntime } from './worker';

async function main(): Promise<void> {
  const agentFlag = process.argv.indexOf('--agent');
  const env = agentFlag >= 0 && process.argv[agentFlag + 1] ? { ...process.env, AGENT_NAME: process.argv[agentFlag + 1] } : process.env;
  const config = loadConfig(env);
  installRuntime(config.logLevel ?? 'INFO');
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required for the worker');
  const dataSource = await openDatabase(config.databaseUrl);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const workers = await createWorkers({ config, dataSource, connection });
  const stop = () => workers.forEach((w) => w.shutdown());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`worker polling ${config.taskQueue}${config.agentName ? ` and agent-${config.agentName}` : ''} on ${config.temporalAddress}`);
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
  await dataSource.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
