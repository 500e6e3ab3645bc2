import os from 'node:os';
import { Client } from '@temporalio/client';
import { DefaultLogger, type NativeConnection, Runtime, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { createActivities } from '../../activities';
import { ExpressionEvaluator, type ExpressionLimits } from '../../activities/expressions';
import { createEgressFetch, createEgressPolicy } from '../../activities/egress';
import { BrowserPool } from '../../activities/browser/pool';
import { artifactStoreFor } from '../../db/artifact-store';
import type { Config } from '../../platform/config';
import { bundleInChildProcess } from './bundle';
import { idsOfWorkflow, logger, workerLog } from '../../platform/log';
import { dataConverterFor } from '../../platform/payload-codec';
import { tracing } from '../../platform/tracing';
import { workerClass } from './workflow-threads';

export interface WorkerDeps {
  config: Config;
  dataSource: DataSource;
  connection: NativeConnection;
}

/**
 * Sets the worker's log level, and the Temporal SDK's own Prometheus exporter when
 * `sdkMetricsAddress` (FLOWRUNS_SDK_METRICS_ADDRESS) is set; must run before the first
 * connection. Signals stay the caller's to handle.
 */
export function installRuntime(level: NonNullable<Config['logLevel']>, sdkMetricsAddress?: string): void {
  logger.level = level.toLowerCase();
  // The SDK's own log lines, as JSON with the run or batch they are about.
  const sdkLogger = new DefaultLogger(level, (entry) => {
    const method = entry.level === 'TRACE' ? 'trace' : (entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
    workerLog[method]({ ...entry.meta, ...idsOfWorkflow(entry.meta?.workflowId) }, entry.message);
  });
  Runtime.install({
    logger: sdkLogger,
    shutdownSignals: [],
    ...(sdkMetricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetricsAddress, countersTotalSuffix: true } } } } : {}),
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
const evaluators = new Map<string, ExpressionEvaluator>();
const browserPools = new Map<string, BrowserPool>();

/** One browser pool per process (and per set of browser settings), shared by its workers; launched on first use. */
function browserPool(config: Config): BrowserPool {
  const key = JSON.stringify([config.chromiumPath, config.firefoxPath, config.browserSandboxOff, config.browserConcurrency, config.egressAllow, config.httpMaxBodyBytes]);
  let pool = browserPools.get(key);
  if (!pool) browserPools.set(key, (pool = BrowserPool.from(config, createEgressPolicy(config.egressAllow))));
  return pool;
}

/** Closes the browsers this process launched (a worker's shutdown). */
export async function closeBrowsers(): Promise<void> {
  const pools = [...browserPools.values()];
  browserPools.clear();
  await Promise.all(pools.map((p) => p.close()));
}

/** One pool of expression evaluators per process (and per set of limits), shared by its workers. */
function expressionEvaluator(limits: ExpressionLimits): ExpressionEvaluator {
  const key = JSON.stringify(limits);
  let evaluator = evaluators.get(key);
  if (!evaluator) evaluators.set(key, (evaluator = new ExpressionEvaluator(limits)));
  return evaluator;
}

/** The workflow bundle is built once per process and shared by every worker in it. */
function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleInChildProcess(undefined, tracing()?.workflowInterceptorModules);
  return bundle;
}

/** The identity the worker's pollers show in Temporal. */
export const workerIdentity = (): string => `worker@${os.hostname()}:${process.pid}`;

/** Heartbeats reach Temporal at least every second, so a cancellation reaches a step within about a second. */
const HEARTBEATS = { defaultHeartbeatThrottleInterval: '1 second', maxHeartbeatThrottleInterval: '1 second' } as const;

/** The http steps' fetch under the configured egress policy and body cap. */
const egressFetch = (config: Config) => createEgressFetch({ policy: createEgressPolicy(config.egressAllow), maxBodyBytes: config.httpMaxBodyBytes });

/** The platform's worker on the default task queue: workflows, steps and every record. */
export async function createWorkers({ config, dataSource, connection }: WorkerDeps): Promise<Worker[]> {
  const dataConverter = dataConverterFor(config.payloadKeys);
  const traced = tracing();
  const client = new Client({ connection, namespace: config.namespace, dataConverter, ...(traced ? { interceptors: traced.clientInterceptors } : {}) });
  const activities = createActivities({
    dataSource,
    client,
    fetch: egressFetch(config),
    expressions: expressionEvaluator(config.expressionLimits),
    inlineOutputBytes: config.inlineOutputBytes,
    publicUrl: config.publicUrl ?? `http://127.0.0.1:${config.port}`,
    browsers: { pool: browserPool(config), store: artifactStoreFor(config) },
    recordPatienceMs: config.recordPatienceMs,
    runLimits: config.runLimits,
  });
  return [
    await workerClass(config.workflowDeadlockCheck, config.workflowStackTraces).create({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      workflowBundle: await workflowBundle(),
      dataConverter,
      activities,
      maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities,
      ...(config.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: config.maxCachedWorkflows }),
      ...HEARTBEATS,
      identity: workerIdentity(),
      ...(traced ? traced.worker : {}),
    }),
  ];
}
