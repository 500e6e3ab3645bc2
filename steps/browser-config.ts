/**
 * The \`browser\` step's shapes, shared with \`scan\` and the step types' base (step-type.ts): its
 * config schema (page URL, options, actions), its output, and what an attempt records of the page.
 */
import { z } from 'zod';

export const EXPECTATION_FAILED = 'ExpectationFailed';
export const VISUAL_MISMATCH = 'VisualMismatch';
/** The step's config names something the worker cannot provide (an unknown device, a browser not installed). */
export const BROWSER_UNAVAILABLE = 'BrowserUnavailable';

export const DEFAULT_BROWSER_TIMEOUT_MS = 30_000;
export const MAX_ACTIONS = 200;

const selector = z.string().min(1).max(2000);
const vrt = z.strictObject({ threshold: z.number().min(0).max(100).default(95) });
/** `"1280,800"` (the FlowRun-objects contract's `window_size`) or `{ width, height }`. */
export const viewportSchema = z.union([
  z
    .string()
    .regex(/^\s*\d{2,5}\s*[,x]\s*\d{2,5}\s*$/, 'must be "WIDTH,HEIGHT", e.g. "1280,800"')
    .transform((v) => {
      const [width, height] = v.split(/[,x]/).map((n) => Number(n.trim()));
      return { width: width!, height: height! };
    }),
  z.strictObject({ width: z.number().int(), height: z.number().int() }),
]).pipe(z.object({ width: z.number().int().min(100).max(7680), height: z.number().int().min(100).max(7680) }));
export type Viewport = z.output<typeof viewportSchema>;

/** A screenshot's name becomes a file name: letters, digits, `_`, `-`, `.`. */
export const screenshotName = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, _ . - (at most 100)').refine((n) => !n.startsWith('.'), 'may not start with "."');

/**
 * A page's URL: http or https only. A literal other scheme (`file:`, `view-source:`, `chrome:`,
 * `javascript:`, …) is refused when the flow is saved; one a variable renders fails the step with
 * EgressDenied before anything is loaded (activities/browser/runtime.ts).
 */
export const pageUrl = z
  .string()
  .min(1)
  .max(8192)
  .refine((u) => {
    const scheme = /^\s*([A-Za-z][A-Za-z0-9+.-]*):/.exec(u)?.[1];
    return scheme === undefined || /^https?$/i.test(scheme);
  }, 'must be an http or https URL');

export const actionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('goto'), url: pageUrl }),
  z.strictObject({ action: z.literal('click'), selector }),
  z.strictObject({ action: z.literal('fill'), selector, value: z.string().max(100_000) }),
  z.strictObject({ action: z.literal('select'), selector, value: z.union([z.string(), z.array(z.string())]) }),
  z.strictObject({ action: z.literal('press'), selector: selector.optional(), key: z.string().min(1).max(100) }),
  z.strictObject({ action: z.literal('hover'), selector }),
  z.strictObject({ action: z.literal('scroll'), selector: selector.optional(), y: z.number().int().min(-1_000_000).max(1_000_000).optional() }),
  z
    .strictObject({ action: z.literal('waitFor'), selector: selector.optional(), text: z.string().min(1).optional(), url: z.string().min(1).optional(), networkIdle: z.literal(true).optional() })
    .refine((a) => [a.selector, a.text, a.url, a.networkIdle].filter((v) => v !== undefined).length === 1, 'waitFor takes exactly one of selector, text, url, networkIdle'),
  z
    .strictObject({
      action: z.literal('expect'),
      selector: selector.optional(),
      text: z.string().optional(),
      visible: z.literal(true).optional(),
      hidden: z.literal(true).optional(),
      count: z.number().int().min(0).optional(),
      url: z.string().optional(),
      title: z.string().optional(),
    })
    .refine(
      (a) =>
        a.selector !== undefined
          ? [a.text, a.visible, a.hidden, a.count].filter((v) => v !== undefined).length === 1 && a.url === undefined && a.title === undefined
          : [a.url, a.title].filter((v) => v !== undefined).length === 1 && [a.text, a.visible, a.hidden, a.count].every((v) => v === undefined),
      'expect takes a selector with one of text, visible, hidden, count; or one of url, title',
    ),
  z.strictObject({ action: z.literal('extract'), selector, attribute: z.string().min(1).max(200).optional(), as: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, 'an identifier') }),
  z.strictObject({
    action: z.literal('screenshot'),
    name: screenshotName,
    fullPage: z.boolean().optional(),
    selector: selector.optional(),
    mask: z.array(selector).max(50).optional(),
    vrt: vrt.optional(),
  }),
]);
export type BrowserAction = z.output<typeof actionSchema>;

/** What the page is shown on: the viewport, a device preset, whether animations run, the per-action timeout. */
export const pageOptions = {
  viewport: viewportSchema.optional(),
  /** A Playwright device preset (`iPhone 13`, `Pixel 7`, `Desktop Chrome`, …). */
  device: z.string().min(1).max(100).optional(),
  disableAnimations: z.boolean().optional(),
  /** Timeout of each action (and of loading `url`); default 30 s. */
  timeoutMs: z.number().int().min(100).max(300_000).optional(),
};

/** The step's `config` schema. */
export const browserConfig = z.strictObject({
  url: pageUrl,
  ...pageOptions,
  actions: z.array(actionSchema).max(MAX_ACTIONS).default([]),
});
export type BrowserConfig = z.output<typeof browserConfig>;

/** `{ url, title, extracted, screenshots }`: readable by later steps as `steps.<id>.output`. */
export interface BrowserOutput {
  url: string;
  title: string;
  extracted: Record<string, string | null>;
  screenshots: string[];
}

/** One action as recorded (`step_runs.details.actions`, the run detail's `actions[]`). */
export interface ActionRecord {
  index: number;
  action: BrowserAction['action'] | 'load';
  selector: string | null;
  status: 'succeeded' | 'failed' | 'skipped';
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  error: string | null;
  /** The screenshot the action took (or the one taken when it failed), by name. */
  screenshot: string | null;
}

/** What a screenshot compared to, when it asked for visual regression. */
export interface VrtResult {
  similarity: number;
  threshold: number;
  passed: boolean;
  /** The run whose screenshot is the baseline; this run's own when it recorded the first one. */
  baseline_run_id: string;
  /** Set when the screenshot was compared (not when it became the first baseline). */
  diff: string | null;
}

/** Web vitals and timings of the page, per step (`performance.json`). */
export interface PagePerformance {
  lcp_ms: number | null;
  fcp_ms: number | null;
  cls: number | null;
  ttfb_ms: number | null;
  dom_content_loaded_ms: number | null;
  load_ms: number | null;
  js_heap_bytes: number | null;
  cpu_time_ms: number | null;
}

/** `step_runs.details` of a browser or scan step. */
export interface BrowserDetails {
  browser: { name: string; engine: string; version: string };
  viewport: Viewport;
  device: string | null;
  attempt: number;
  actions: ActionRecord[];
  screenshots: { name: string; width: number; height: number; vrt: VrtResult | null }[];
  performance: PagePerformance | null;
  /** The attempt's Playwright trace (`trace.zip`, secrets masked), when one was kept. */
  trace?: string | null;
}

/** Start-to-close of one attempt: every action may take its full timeout, plus the browser's start. */
export const browserAttemptTimeoutMs = (timeoutMs: number | undefined, actions: number): number =>
  Math.min(30 * 60_000, (timeoutMs ?? DEFAULT_BROWSER_TIMEOUT_MS) * (actions + 2) + 60_000);
