import os from 'node:os';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, type NativeConnection, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { createActivities } from '../../activities';
import { ExpressionEvaluator, type ExpressionLimits } from '../../activities/expressions';
import { createEgressFetch, createEgressPolicy } from '../../activities/egress';
import { agentTaskQueue, type Config } from '../config';
import { dataConverterFor } from '../payload-codec';

export interface WorkerDeps {
  config: Config;
  dataSource: DataSource;
  connection: NativeConnection;
}

/** Sets the worker's log level; must run before the first connection. Signals stay the caller's to handle. */
export function installRuntime(level: NonNullable<Config['logLevel']>): void {
  Runtime.install({ logger: new DefaultLogger(level), shutdownSignals: [] });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
const evaluators = new Map<string, ExpressionEvaluator>();

/** One pool of expression evaluators per process (and per set of limits), shared by its workers. */
function expressionEvaluator(limits: ExpressionLimits): ExpressionEvaluator {
  const key = JSON.stringify(limits);
  let evaluator = evaluators.get(key);
  if (!evaluator) evaluators.set(key, (evaluator = new ExpressionEvaluator(limits)));
  return evaluator;
}

/** The workflow bundle is built once per process and shared by every worker in it. */
function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') });
  return bundle;
}

/**
 * The identity the worker's pollers show in Temporal. An agent's is `agent:<name>@<host>:<pid>`:
 * the gateway finds agents by parsing it out of the default task queue's pollers (`GET /api/v1/agents`).
 */
export const workerIdentity = (agentName?: string): string =>
  `${agentName ? `agent:${agentName}` : 'worker'}@${os.hostname()}:${process.pid}`;

/**
 * Builds the worker for the default task queue and, with an agent name, one for `agent-<name>`.
 * An agent runs only its own runs: on the default queue it polls workflow tasks alone (so it
 * shows among that queue's pollers, where agents are discovered) and leaves activities, the
 * side effects of other runs, to the default workers.
 */
export async function createWorkers({ config, dataSource, connection }: WorkerDeps): Promise<Worker[]> {
  const dataConverter = dataConverterFor(config.payloadKeys);
  const client = new Client({ connection, namespace: config.namespace, dataConverter });
  const fetch = createEgressFetch({ policy: createEgressPolicy(config.egressAllow), maxBodyBytes: config.httpMaxBodyBytes });
  const activities = createActivities({ dataSource, client, fetch, expressions: expressionEvaluator(config.expressionLimits), inlineOutputBytes: config.inlineOutputBytes });
  const agentQueue = config.agentName ? agentTaskQueue(config.agentName) : undefined;
  const queues = [config.taskQueue, ...(agentQueue ? [agentQueue] : [])];
  const code = await workflowBundle();
  return Promise.all(
    queues.map((taskQueue) =>
      Worker.create({
        connection,
        namespace: config.namespace,
        taskQueue,
        workflowBundle: code,
        dataConverter,
        ...(agentQueue && taskQueue !== agentQueue ? {} : { activities }),
        maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities,
        identity: workerIdentity(config.agentName),
      }),
    ),
  );
}
