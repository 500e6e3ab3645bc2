/** The bare reference app: its own worker (own task queue, own workflow bundle) and client on the same Temporal server. */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import * as activities from './activities';
import { bareBatch } from './workflows';

export interface BareApp {
  client: Client;
  taskQueue: string;
  /** Starts a batch workflow of `runs` children; answers its workflow id. */
  start(runs: number, maxParallel: number, stubUrl: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startBareApp(temporalAddress: string): Promise<BareApp> {
  const taskQueue = `bench-bare-${randomBytes(4).toString('hex')}`;
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: new DefaultLogger('WARN') });
  const native = await NativeConnection.connect({ address: temporalAddress });
  const worker = await Worker.create({ connection: native, taskQueue, workflowBundle, activities });
  const running = worker.run();
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  let n = 0;
  return {
    client,
    taskQueue,
    start: async (runs, maxParallel, stubUrl) => {
      const workflowId = `bare-batch-${taskQueue}-${n++}`;
      await client.workflow.start(bareBatch, { taskQueue, workflowId, args: [runs, maxParallel, stubUrl] });
      return workflowId;
    },
    stop: async () => {
      worker.shutdown();
      await running;
      await native.close();
      await connection.close();
    },
  };
}
