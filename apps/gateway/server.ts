/** The gateway's Express app and its start/stop, exported so tests listen on port 0 and stop cleanly. */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { codecBodyParser, codecCors } from './codec/cors';
import { CODEC_PATH } from './codec/routes';
import { runDeps, type GatewayDeps } from './deps';
import { dashboard } from './ui/dashboard';
import { gatewayLog } from '../../platform/log';
import { docsAssets, docsCsp } from './definitions/docs/routes';
import { bodyParsers, errorHandler, fallbackHandler, mountRoutes, type RouterOptions } from './http/router';
import { securityHeaders } from './http/security-headers';
import { allRoutes } from './routes';
import { RunReconciler } from './runs/reconcile';
import { watchTemporal } from './runs/watch';
import { createShared, leadWatcher, type GatewayShared } from './shared';

/** Replies are checked against their response schemas under jest (NODE_ENV=test) unless told otherwise. */
const DEFAULT_OPTIONS: RouterOptions = { strictResponses: process.env.NODE_ENV === 'test' };

export function createApp(deps: GatewayDeps & { shared: GatewayShared }, options: RouterOptions = DEFAULT_OPTIONS): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const routes = allRoutes(deps);
  // One limiter for the API and the dashboard, shared by every gateway: a key's requests count once, whichever way they come.
  const limiter = deps.shared.limiter;
  app.use(securityHeaders(docsCsp(deps.config.publicUrl)));
  app.use(CODEC_PATH, codecCors(deps.config.codecCorsOrigins), codecBodyParser());
  app.use(bodyParsers());
  mountRoutes(app, routes, deps, options, limiter);
  app.use('/docs', docsAssets());
  app.use('/ui', dashboard(runDeps(deps), limiter));
  app.use(fallbackHandler(routes));
  app.use(errorHandler());
  return app;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: http.Server;
  shared: GatewayShared;
  stop(): Promise<void>;
}

const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export async function startGateway(
  deps: GatewayDeps & RouterOptions & { port?: number; host?: string; watcherRetryMs?: number },
): Promise<RunningGateway> {
  const warned = new Map<string, number>();
  const warn = (what: string, err: unknown) => {
    if ((warned.get(what) ?? 0) > Date.now()) return;
    warned.set(what, Date.now() + 60_000);
    gatewayLog.warn({ err }, what);
  };
  const shared = deps.shared ?? createShared(deps.dataSource, deps.config, warn);
  const app = createApp({ ...deps, shared }, { strictResponses: deps.strictResponses ?? DEFAULT_OPTIONS.strictResponses });
  const host = deps.host ?? deps.config.host;
  const server = await new Promise<http.Server>((resolve, reject) => {
    const s = app.listen(deps.port ?? deps.config.port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  // Idle keep-alive connections outlive a client's own idle timeout (undici: the server's hint less 1 s;
  // load balancers: 60 s), so the client closes them first and never reuses one the server is closing (ECONNRESET).
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 5_000;
  const port = (server.address() as AddressInfo).port;
  // One gateway at a time watches Temporal for operator actions: the one holding the advisory lock.
  leadWatcher(
    deps.dataSource,
    shared,
    () =>
      watchTemporal(
        { client: deps.client, dataSource: deps.dataSource, reconciler: new RunReconciler({ dataSource: deps.dataSource, client: deps.client }) },
        { onError: (err) => warn('watching Temporal for terminated and reset runs failed; retrying every second', err) },
      ),
    warn,
    deps.watcherRetryMs,
  );
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    server,
    shared,
    stop: async () => {
      await shared.stop();
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5000).unref();
      });
    },
  };
}
