export { batchChunk, batchRun } from './batch-run';
export { flowRun } from './flow-run';
export { notifyWebhooks } from './notify';
export { scheduledBatch } from './scheduled-batch';
export { retentionSweep } from './retention';
