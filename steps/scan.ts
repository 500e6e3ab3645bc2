/**
 * `scan` (the FlowRun-objects contract's scan node): loads `url` in the worker's browser and captures what `types`
 * asks for — `html` (the rendered document), `logs` (console messages and page errors),
 * `performance` (web vitals and timings), `vrt` (a full-page screenshot compared with the flow's
 * baseline at `threshold`), `lighthouse` (Lighthouse's category scores, from the same Chromium,
 * offline). Output: `{ html?, logs?, performance?, vrt?, lighthouse? }`.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { BROWSER_UNAVAILABLE, browserAttemptTimeoutMs, EXPECTATION_FAILED, pageOptions, pageUrl, VISUAL_MISMATCH, type PagePerformance } from './browser';
import { EGRESS_DENIED } from './http';
import { UNSUPPORTED_STEP, type ActivityStepType } from './step-type';

export const SCAN_TYPES = ['html', 'logs', 'performance', 'vrt', 'lighthouse'] as const;
export type ScanType = (typeof SCAN_TYPES)[number];

/** Lighthouse runs its own audit of the page: it may take this long on top of the load. */
export const LIGHTHOUSE_TIMEOUT_MS = 120_000;

const config = z.object({
  url: pageUrl,
  types: z
    .array(z.enum(SCAN_TYPES, { error: `a scan type: one of ${SCAN_TYPES.join(', ')}` }))
    .min(1)
    .transform((t) => [...new Set(t)]),
  ...pageOptions,
  /** Visual similarity (percent) below which `vrt` fails the step. */
  threshold: z.number().min(0).max(100).default(95),
  /** Selectors painted over in the `vrt` screenshot (the FlowRun-objects contract's `mask_ids`). */
  mask: z.array(z.string().min(1).max(2000)).max(50).optional(),
  fullPage: z.boolean().default(true),
});
export type ScanConfig = z.output<typeof config>;

export interface ConsoleLine {
  ts: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  text: string;
  /** Where it came from: a script URL with line and column, when the browser knows it. */
  location: string | null;
}

export interface ScanOutput {
  url: string;
  title: string;
  html?: string;
  logs?: ConsoleLine[];
  performance?: PagePerformance;
  vrt?: { similarity: number; threshold: number; passed: boolean; baseline_run_id: string; diff_url: string | null; screenshot_url: string };
  lighthouse?: { performance: number | null; accessibility: number | null; best_practices: number | null; seo: number | null };
}

export const scanStep: ActivityStepType<'scan', typeof config> = {
  type: 'scan',
  runsIn: 'activity',
  config,
  nonRetryable: [EXPECTATION_FAILED, VISUAL_MISMATCH, BROWSER_UNAVAILABLE, EGRESS_DENIED],
  renderConfig: true,
  attemptTimeoutMs: (c) => browserAttemptTimeoutMs(c.timeoutMs, 2) + (c.types.includes('lighthouse') ? LIGHTHOUSE_TIMEOUT_MS : 0),
  async execute(c, ctx) {
    if (!ctx.browser) throw ApplicationFailure.nonRetryable('this worker runs no browser: scan steps run on the platform workers', UNSUPPORTED_STEP);
    return ctx.browser.scan(c);
  },
};
