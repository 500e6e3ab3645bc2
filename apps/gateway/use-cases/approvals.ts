/** Deciding an `approval` step: a signal to the run's workflow, and who reviewed it on the run. */
import type { DataSource } from 'typeorm';
import type { Client } from '@temporalio/client';
import { RunEntity, StepRunEntity } from '../../../db/entities';
import { isTerminalStep } from '../../../domain/statuses';
import { approvalSignal, runWorkflowId } from '../../../workflows/definitions';
import type { AuthContext } from '../http/auth';
import { conflict, HttpError, notFound } from '../http/errors';

export interface Decision {
  run_id: string;
  step_id: string;
  approved: boolean;
  reviewed_by: string;
  reviewed_at: string;
}

export async function decideApproval(
  deps: { dataSource: DataSource; client: Client },
  auth: AuthContext,
  runId: string,
  stepId: string,
  approved: boolean,
  comment?: string,
): Promise<Decision> {
  const run = await deps.dataSource.getRepository(RunEntity).findOne({ where: { id: runId, accountId: auth.accountId } });
  if (!run) throw notFound(`run ${runId}`, ['path', 'runId']);
  const step = await deps.dataSource.getRepository(StepRunEntity).findOne({ where: { runId, stepId } });
  if (!step) throw notFound(`step ${stepId} of run ${runId}`, ['path', 'stepId']);
  if (step.type !== 'approval') throw conflict(`step ${stepId} is a ${step.type} step, not an approval`, ['path', 'stepId']);
  // A decision may arrive before the projection says `waiting`: the workflow keeps the first one per step.
  if (isTerminalStep(step.status)) throw conflict(`step ${stepId} is already ${step.status}`, ['path', 'stepId']);
  const reviewer = auth.keyName;
  try {
    await deps.client.workflow.getHandle(runWorkflowId(runId)).signal(approvalSignal, { stepId, approved, reviewer, comment });
  } catch (err) {
    throw new HttpError(503, `could not deliver the decision to the run; retry: ${(err as Error).message}`);
  }
  const reviewedAt = new Date();
  await deps.dataSource.getRepository(RunEntity).update({ id: runId }, { reviewedBy: reviewer, reviewedAt, updatedBy: auth.keyId });
  return { run_id: runId, step_id: stepId, approved, reviewed_by: reviewer, reviewed_at: reviewedAt.toISOString() };
}
