/**
 * Prometheus metrics (prom-client), one registry per process: the gateway serves it at `/metrics`,
 * and a worker process serves its own on FLOWRUNS_METRICS_PORT. Under `npm run dev` the worker
 * and the gateway share one process, so `/metrics` shows both.
 */
import http from 'node:http';
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'flowruns_process_' });

export const runsStarted = new client.Counter({
  name: 'flowruns_runs_started_total',
  help: 'Runs that started executing (a retried start record may count a run twice)',
  registers: [registry],
});

export const runsFinished = new client.Counter({
  name: 'flowruns_runs_finished_total',
  help: 'Runs that finished, by status',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const stepDuration = new client.Histogram({
  name: 'flowruns_step_duration_seconds',
  help: 'Duration of finished steps, by step type',
  labelNames: ['type', 'status'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
  registers: [registry],
});

export const queueLag = new client.Histogram({
  name: 'flowruns_activity_queue_lag_seconds',
  help: 'Time a step activity waited in its Temporal task queue before a worker picked it up',
  labelNames: ['queue'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const httpRequests = new client.Counter({
  name: 'flowruns_http_requests_total',
  help: 'Gateway requests, by route pattern and status',
  labelNames: ['route', 'status'] as const,
  registers: [registry],
});

export const httpDuration = new client.Histogram({
  name: 'flowruns_http_request_duration_seconds',
  help: 'Gateway request durations, by route pattern and status',
  labelNames: ['route', 'status'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

/** What a process's health listener answers: `live` for `/healthz`, `ready` (with why not) for `/readyz`. */
export interface HealthProbe {
  live(): boolean;
  ready(): Promise<{ ok: boolean; detail: Record<string, string> }>;
}

/**
 * Serves `/metrics` on its own port (a worker's), with `/healthz` (the process's workers are
 * running) and `/readyz` (and Postgres answers) for orchestrators' probes when `health` is given;
 * resolves with a stop function.
 */
export async function serveMetrics(port: number, host = '0.0.0.0', health?: HealthProbe): Promise<() => Promise<void>> {
  const server = http.createServer((req, res) => {
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/metrics') {
      void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
    } else if (health && req.url === '/healthz') {
      const live = health.live();
      json(live ? 200 : 503, { status: live ? 'ok' : 'stopping' });
    } else if (health && req.url === '/readyz') {
      void health.ready().then(
        (r) => json(r.ok ? 200 : 503, { status: r.ok ? 'ok' : 'unavailable', ...r.detail }),
        (err: unknown) => json(503, { status: 'unavailable', error: (err as Error).message }),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return () => new Promise((resolve) => server.close(() => resolve()));
}
