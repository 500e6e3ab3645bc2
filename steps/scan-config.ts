/** The \`scan\` step's shapes, shared with the step types' base (step-type.ts): its config schema and its output. */
import { z } from 'zod';
import { pageOptions, pageUrl, type PagePerformance } from './browser-config';

export const SCAN_TYPES = ['html', 'logs', 'performance', 'vrt', 'lighthouse'] as const;
export type ScanType = (typeof SCAN_TYPES)[number];

/** Lighthouse runs its own audit of the page: it may take this long on top of the load. */
export const LIGHTHOUSE_TIMEOUT_MS = 120_000;

/** The step's `config` schema. */
export const scanConfig = z.strictObject({
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
export type ScanConfig = z.output<typeof scanConfig>;

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
