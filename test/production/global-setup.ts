/**
 * The production tier's one preparation: the real Temporal server, its schema tool and schema, from
 * the cache or built with Go (several minutes on a new machine), before any test's own timeout runs.
 */
import { resolveTemporalServer } from '../../apps/dev/temporal-server-binary';

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const files = await resolveTemporalServer({ log: (m) => process.stderr.write(`[production] ${m}\n`) });
  process.stderr.write(`[production] Temporal server ${files.server} ready in ${Math.round((Date.now() - started) / 1000)} s\n`);
}
