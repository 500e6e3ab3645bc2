/** The workflows the worker registers, by their function names (their type names). */
import { batchChunk, batchRun } from './batch-run';
import type { Workflows } from './contract';
import { flowRun } from './flow-run';
import { notifyWebhooks } from './notify';
import { retentionSweep } from './retention';
import { scheduledBatch } from './scheduled-batch';

export { batchChunk, batchRun, flowRun, notifyWebhooks, retentionSweep, scheduledBatch };

/** Fails to compile when a workflow others start by name is not what workflows/contract.ts says it is. */
type Implements<T extends Workflows> = T;
export type ContractKept = Implements<{ batchRun: typeof batchRun; flowRun: typeof flowRun; scheduledBatch: typeof scheduledBatch; retentionSweep: typeof retentionSweep }>;
