/** `transform`: the value of a JSONata expression over the run's scope. */
import { z } from 'zod';
import type { ActivityStepType } from './step-type';

const config = z.strictObject({ expression: z.string().min(1) });

export const transformStep: ActivityStepType<'transform', typeof config> = {
  type: 'transform',
  runsIn: 'activity',
  // Only the evaluator's computation (FLOWRUNS_EXPRESSION_* bounds): a local activity.
  pure: true,
  config,
  nonRetryable: [],
  expressions: (c) => [[['expression'], c.expression]],
  // The expression is evaluated as written, not rendered as a template first.
  renderConfig: false,
  attemptTimeoutMs: () => 60_000,
  execute: async (c, ctx) => (await ctx.evaluate(c.expression)) ?? null,
};
