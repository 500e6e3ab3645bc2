/**
 * `browser`: a real headless browser loads `url` and performs `actions` in order (SPEC §9). The
 * page is driven by the worker's browser runtime (activities/browser/), which this file only
 * names: one browser per worker, a fresh context per attempt, always closed. Every action is
 * recorded with its status, timing, error and screenshot; a failed `expect` fails the step at
 * once with what was expected and what was found, and so does a screenshot below its visual
 * regression threshold. Other failures (a selector that never appears, a page that does not
 * load) are retried under the step's retry policy.
 */
import { ApplicationFailure } from '@temporalio/common';
import { browserAttemptTimeoutMs, BROWSER_UNAVAILABLE, browserConfig, EXPECTATION_FAILED, VISUAL_MISMATCH } from './browser-config';
import { EGRESS_DENIED } from './http';
import { UNSUPPORTED_STEP, type ActivityStepType } from './step-type';

export * from './browser-config';

export const browserStep: ActivityStepType<'browser', typeof browserConfig> = {
  type: 'browser',
  runsIn: 'activity',
  config: browserConfig,
  nonRetryable: [EXPECTATION_FAILED, VISUAL_MISMATCH, BROWSER_UNAVAILABLE, EGRESS_DENIED],
  renderConfig: true,
  attemptTimeoutMs: (c) => browserAttemptTimeoutMs(c.timeoutMs, c.actions.length),
  async execute(c, ctx) {
    if (!ctx.browser) throw ApplicationFailure.nonRetryable('this worker runs no browser: browser steps run on the platform workers', UNSUPPORTED_STEP);
    return ctx.browser.browse(c);
  },
};
