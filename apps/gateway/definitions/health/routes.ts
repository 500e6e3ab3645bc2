/**
 * `/healthz` and `/readyz`: ready only when both Postgres and Temporal answer, so a balancer skips
 * a cut-off gateway. `/metrics`: Prometheus text, public like the health checks (counts only, no
 * account data); keep it off the public internet with the proxy in front.
 */
import { z } from 'zod';
import type { GatewayDeps } from '../../deps';
import { registry } from '../../../../platform/metrics';
import { defineRoute, reply, type AnyRoute } from '../../http/route';

const CHECK_TIMEOUT_MS = 3000;

async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS}ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (err) {
    return `error: ${(err as Error)?.message ?? String(err)}`;
  } finally {
    clearTimeout(timer);
  }
}

const healthSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.object({ postgres: z.string(), temporal: z.string() }),
});

export const healthRoutes = ({ dataSource, client }: GatewayDeps): AnyRoute[] => {
  const handler = async () => {
    const [postgres, temporal] = await Promise.all([
      check(() => dataSource.query('SELECT 1')),
      check(() => client.workflowService.getSystemInfo({})),
    ]);
    const ok = postgres === 'ok' && temporal === 'ok';
    return reply(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', checks: { postgres, temporal } });
  };
  const metrics = defineRoute({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics: runs finished by status, step durations by type, HTTP requests by route and status, queue lag',
    tag: 'Health',
    auth: 'none',
    handler: async ({ res }) => {
      res.status(200).type(registry.contentType).send(await registry.metrics());
      return undefined;
    },
  });
  return [metrics, ...['/healthz', '/readyz'].map((path) =>
    defineRoute({ method: 'get', path, summary: 'Postgres and Temporal both answer', tag: 'Health', auth: 'none', response: healthSchema, handler }),
  )];
};
