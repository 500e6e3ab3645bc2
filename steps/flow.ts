/**
 * `flow`: runs another flow of the account as a child run (its own workflow and run record) with
 * `data` as its `trigger.body`, and waits for it. Output `{ runId, status, outputs }`; the step
 * fails when the child does not succeed. A flow may not run itself, directly or further down.
 */
import { z } from 'zod';
import type { WorkflowStepType } from './step-type';

/** Sub-flows nest at most this deep (the run-time guard against cycles saved before a check could see them). */
export const MAX_FLOW_DEPTH = 5;

const config = z.strictObject({
  flowId: z.string().min(1).max(100).regex(/^[a-z0-9_.-]+$/, 'must match ^[a-z0-9_.-]+$'),
  /** The child's `trigger.body`; `{{ }}` expressions in it are rendered first. */
  data: z.unknown().optional(),
});

export const flowStep: WorkflowStepType<'flow', typeof config> = {
  type: 'flow',
  runsIn: 'workflow',
  config,
  nonRetryable: [],
  async run(c, ctx) {
    const child = await ctx.runFlow(String(c.flowId), c.data ?? null);
    if (child.status === 'succeeded') return { status: 'succeeded', output: child };
    const why = child.error ? `: ${child.error}` : '';
    return { status: 'failed', output: child, error: `flow ${c.flowId} run ${child.runId} ${child.status}${why}` };
  },
};
