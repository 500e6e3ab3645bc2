/** Production entry of the gateway: configuration, Postgres (migrated), Temporal client, HTTP server. */
import '../../platform/tracing-start';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, requirePayloadKeys } from '../../platform/config';
import { dataConverterFor } from '../../platform/payload-codec';
import { connectionOptions, describeTemporal } from '../../platform/temporal-connection';
import { openDatabase } from '../../db/data-source';
import { startGateway } from './server';
import { ensureSearchAttributes } from '../../platform/search-attributes';
import { tracing } from '../../platform/tracing';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required (e.g. postgres://user:pass@host:5432/flowruns); `npm run dev` provides one locally');
  requirePayloadKeys(config);
  if (!config.adminKey) console.warn('[gateway] FLOWRUNS_ADMIN_KEY is not set: only account API keys will be accepted');
  const dataSource = await openDatabase(config.databaseUrl);
  const connection = await Connection.connect(connectionOptions(config.temporal));
  await ensureSearchAttributes(connection, config.namespace);
  const traced = tracing();
  const client = new Client({ connection, namespace: config.namespace, dataConverter: dataConverterFor(config.payloadKeys), ...(traced ? { interceptors: traced.clientInterceptors } : {}) });
  const gateway = await startGateway({ config, dataSource, client });
  console.log(`[gateway] listening on ${gateway.url} (docs at ${gateway.url}/docs); Temporal ${describeTemporal(config.temporal)}`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[gateway] ${signal}: draining`);
    try {
      await gateway.stop();
      await connection.close();
      await dataSource.destroy();
      await tracing()?.shutdown();
      process.exit(0);
    } catch (err) {
      console.error('[gateway] shutdown failed:', err);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('[gateway] failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
