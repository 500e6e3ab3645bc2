import { bundleWorkflowCode, DefaultLogger, type NativeConnection, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { createActivities } from '../../activities';
import { agentTaskQueue, type Config } from '../config';

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

/** The workflow bundle is built once per process and shared by every worker in it. */
function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') });
  return bundle;
}

/** Builds the worker for the default task queue and, with an agent name, one for `agent-<name>`. */
export async function createWorkers({ config, dataSource, connection }: WorkerDeps): Promise<Worker[]> {
  const activities = createActivities({ dataSource });
  const queues = [config.taskQueue, ...(config.agentName ? [agentTaskQueue(config.agentName)] : [])];
  const code = await workflowBundle();
  return Promise.all(
    queues.map((taskQueue) =>
      Worker.create({
        connection,
        namespace: config.namespace,
        taskQueue,
        workflowBundle: code,
        activities,
        maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities,
        identity: `${config.agentName ?? 'worker'}@${process.pid}`,
      }),
    ),
  );
}
