/** `approval`: the run waits (status `waiting`) for a reviewer's decision sent through the API. */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { WorkflowStepType } from './step-type';

const config = z.strictObject({ message: z.string().optional(), timeoutMs: z.number().int().min(1).optional() }).default({});

export const approvalStep: WorkflowStepType<'approval', typeof config> = {
  type: 'approval',
  runsIn: 'workflow',
  config,
  nonRetryable: [],
  async run(c, ctx) {
    const timeoutMs = Number(c.timeoutMs ?? 0);
    const d = await ctx.awaitDecision(timeoutMs > 0 ? timeoutMs : undefined);
    if (!d) throw ApplicationFailure.nonRetryable(`no decision within ${timeoutMs}ms`);
    const output = { approved: d.approved, reviewer: d.reviewer, comment: d.comment ?? null };
    if (!d.approved) return { status: 'failed', output, error: `rejected by ${d.reviewer}${d.comment ? `: ${d.comment}` : ''}` };
    return { status: 'succeeded', output };
  },
};
