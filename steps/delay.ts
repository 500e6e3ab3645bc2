/** `delay`: a durable workflow timer, for `durationMs` or until a point in time; no process sleeps. */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { WorkflowStepType } from './step-type';

const MAX_DELAY_MS = 366 * 24 * 3_600_000;

const config = z
  .strictObject({
    durationMs: z.union([z.number().int().min(0).max(MAX_DELAY_MS), z.string().min(1)]).optional(),
    until: z.string().min(1).optional(),
  })
  .refine((c) => c.durationMs !== undefined || c.until !== undefined, {
    message: 'a delay needs durationMs or until',
  });

export const delayStep: WorkflowStepType<'delay', typeof config> = {
  type: 'delay',
  runsIn: 'workflow',
  config,
  nonRetryable: [],
  async run(c, ctx) {
    const until = c.until ? Date.parse(String(c.until)) : NaN;
    const ms = Number.isFinite(until) ? Math.max(0, until - ctx.now()) : Number(c.durationMs ?? 0);
    if (!Number.isFinite(ms) || ms < 0) throw ApplicationFailure.nonRetryable(`delay is not a duration: ${String(c.durationMs ?? c.until)}`);
    await ctx.sleep(ms);
    return { status: 'succeeded', output: { delayedMs: ms } };
  },
};
