/** Signals and queries of the workflows; the gateway imports these, never a workflow file. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RunProgress } from '../domain/flow-types';

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
