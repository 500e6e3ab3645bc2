/**
 * Type names, ids, signals and queries of the workflows; the gateway imports these (and the types of
 * workflows/contract.ts), never a workflow file: it starts a workflow by its type name.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RunProgress } from '../domain/flow-types';
import type { Workflows } from './contract';

/** The workflows' type names, as a client starts them; what each takes and answers is in workflows/contract.ts. */
export const WorkflowTypes = {
  batchRun: 'batchRun',
  flowRun: 'flowRun',
  scheduledBatch: 'scheduledBatch',
  retentionSweep: 'retentionSweep',
} as const satisfies { [K in keyof Workflows]: K };

/** Live progress of a flow run (workflow id `run-<runId>`). */
export const progressQuery = defineQuery<RunProgress>('progress');

/** Decision on an `approval` step. */
export interface ApprovalDecision {
  stepId: string;
  approved: boolean;
  reviewer: string;
  comment?: string;
}
export const approvalSignal = defineSignal<[ApprovalDecision]>('approval');

/** Cancels runs of a batch (internal run ids): a running one is cancelled, one not started yet never starts. */
export const cancelRunsSignal = defineSignal<[{ runIds: string[] }]>('cancelRuns');

export const batchWorkflowId = (batchId: string): string => `batch-${batchId}`;
/** Chunk `index` of a large batch. */
export const batchChunkWorkflowId = (batchId: string, index: number): string => `batch-${batchId}-chunk-${index}`;
export const runWorkflowId = (runId: string): string => `run-${runId}`;
/** The run id in a run's workflow id (runWorkflowId). */
export const runIdOfWorkflow = (workflowId: string): string => workflowId.replace(/^run-/, '');
