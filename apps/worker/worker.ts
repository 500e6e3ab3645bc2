import type { NativeConnection, Worker } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import type { Config } from '../config';

export interface WorkerDeps {
  config: Config;
  dataSource: DataSource;
  connection: NativeConnection;
}

/** Builds the worker(s) for the default task queue and, with an agent name, `agent-<name>`. */
export async function createWorkers(_deps: WorkerDeps): Promise<Worker[]> {
  throw new Error('not implemented yet');
}
