export { batchRun } from './batch-run';
export { flowRun } from './flow-run';
