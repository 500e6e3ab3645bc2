/** Stops what global-setup started and drops the test database it created. */
import fs from 'node:fs';
import { dropDatabase } from '../apps/dev/postgres';

export default async function globalTeardown(): Promise<void> {
  const infra = globalThis.__FLOWRUNS_TEST_INFRA__;
  if (!infra) return;
  globalThis.__FLOWRUNS_TEST_INFRA__ = undefined;
  const errors: unknown[] = [];
  const attempt = async (fn: (() => Promise<void>) | undefined): Promise<void> => {
    try {
      await fn?.();
    } catch (err) {
      errors.push(err);
    }
  };
  await attempt(infra.database ? () => dropDatabase(infra.adminUrl, infra.database) : undefined);
  await attempt(infra.stopTemporal);
  await attempt(infra.stopPostgres);
  fs.rmSync(infra.tmpDir, { recursive: true, force: true });
  if (errors.length > 0) throw new AggregateError(errors, 'test infrastructure teardown failed');
}
