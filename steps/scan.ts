/**
 * `scan` (the FlowRun-objects contract's scan node): loads `url` in the worker's browser and captures what `types`
 * asks for — `html` (the rendered document), `logs` (console messages and page errors),
 * `performance` (web vitals and timings), `vrt` (a full-page screenshot compared with the flow's
 * baseline at `threshold`), `lighthouse` (Lighthouse's category scores, from the same Chromium,
 * offline). Output: `{ html?, logs?, performance?, vrt?, lighthouse? }`.
 */
import { ApplicationFailure } from '@temporalio/common';
import { BROWSER_UNAVAILABLE, browserAttemptTimeoutMs, EXPECTATION_FAILED, VISUAL_MISMATCH } from './browser-config';
import { EGRESS_DENIED } from './http';
import { LIGHTHOUSE_TIMEOUT_MS, scanConfig } from './scan-config';
import { UNSUPPORTED_STEP, type ActivityStepType } from './step-type';

export * from './scan-config';

export const scanStep: ActivityStepType<'scan', typeof scanConfig> = {
  type: 'scan',
  runsIn: 'activity',
  config: scanConfig,
  nonRetryable: [EXPECTATION_FAILED, VISUAL_MISMATCH, BROWSER_UNAVAILABLE, EGRESS_DENIED],
  renderConfig: true,
  attemptTimeoutMs: (c) => browserAttemptTimeoutMs(c.timeoutMs, 2) + (c.types.includes('lighthouse') ? LIGHTHOUSE_TIMEOUT_MS : 0),
  async execute(c, ctx) {
    if (!ctx.browser) throw ApplicationFailure.nonRetryable('this worker runs no browser: scan steps run on the platform workers', UNSUPPORTED_STEP);
    return ctx.browser.scan(c);
  },
};
