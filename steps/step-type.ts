/**
 * What a step type declares: its config schema (the one definition of its shape), where it runs,
 * and the failures that must not be retried. The workflow and the activities dispatch through the
 * registry (`steps/index.ts`). Step files import no Node built-ins and no workflow API: what they
 * need at run time arrives in the context they are handed, so the workflow bundle can carry them.
 */
import type { z } from 'zod';
import type { BrowserConfig, BrowserOutput } from './browser-config';
import type { ScanConfig, ScanOutput } from './scan-config';

/** Error types every step may fail with, without retry. */
export const MISSING_VARIABLE = 'MissingVariable';
export const EXPRESSION_ERROR = 'ExpressionError';
/** An expression ran into its time, depth, sequence or memory limit. */
export const EXPRESSION_LIMIT = 'ExpressionLimit';
export const UNSUPPORTED_STEP = 'UnsupportedStep';
/** The run's rows were deleted while it ran: nothing can be recorded, so nothing is retried. */
export const RUN_GONE = 'RunGone';
export const COMMON_NON_RETRYABLE = [MISSING_VARIABLE, EXPRESSION_ERROR, EXPRESSION_LIMIT, UNSUPPORTED_STEP, RUN_GONE] as const;

/** One HTTP exchange of a step, as the network artifact records it. */
export interface RequestRecord {
  attempt: number;
  /** Which request of the attempt: 0 for an http step's one, 1… for a page's many. */
  seq?: number;
  ts: Date;
  method: string;
  url: string;
  status: number;
  resourceType: string;
  durationMs: number;
  responseSize: number;
  error: string | null;
}

/** The worker's dependencies for one attempt of an activity step. */
export interface ActivityStepContext {
  attempt: number;
  /** Aborted when Temporal cancels the activity. */
  signal: AbortSignal;
  fetch: typeof globalThis.fetch;
  clock: () => Date;
  /** Evaluates a JSONata expression over the run's expression scope. */
  evaluate(expression: string): Promise<unknown>;
  /** Records an HTTP exchange for the run's network artifact. */
  recordRequest(row: RequestRecord): Promise<void>;
  /** The worker's browser, bound to this step of this run; absent where no browser runs (an agent). */
  browser?: BrowserRuntime;
}

/** What `browser` and `scan` steps drive (activities/browser/). */
export interface BrowserRuntime {
  browse(config: BrowserConfig): Promise<BrowserOutput>;
  scan(config: ScanConfig): Promise<ScanOutput>;
}

/** An approval decision, as the `approval` signal carries it. */
export interface Decision {
  approved: boolean;
  reviewer: string;
  comment?: string;
}

/** The workflow's durable primitives, for steps that run inside the workflow. */
export interface WorkflowStepContext {
  /** A durable timer. */
  sleep(ms: number): Promise<void>;
  /** Workflow time (deterministic). */
  now(): number;
  /** Shows the run as waiting, then resolves with the decision, or undefined after `timeoutMs` (none: wait forever). */
  awaitDecision(timeoutMs: number | undefined): Promise<Decision | undefined>;
  /** Runs a flow of the account as a child run with `data` as its trigger body, and waits for its end. */
  runFlow(flowId: string, data: unknown): Promise<SubFlowResult>;
}

/** How a child run ended, as a `flow` step's output. */
export interface SubFlowResult {
  runId: string;
  status: 'succeeded' | 'failed' | 'cancelled' | 'timed_out';
  outputs: Record<string, unknown>;
  error?: string;
}

export interface WorkflowStepResult {
  status: 'succeeded' | 'failed';
  output: unknown;
  error?: string;
}

interface StepTypeBase<T extends string, C extends z.ZodType> {
  type: T;
  /** Shape of `config`, validated when a flow is saved. */
  config: C;
  /** Error types that fail the step at once (the common ones are added by the registry). */
  nonRetryable: readonly string[];
  /** JSONata expressions inside the config, with their path, so a flow save can check they parse. */
  expressions?(config: z.output<C>): [path: (string | number)[], expression: string][];
}

/** A step whose work is a side effect: one activity attempt per try, retried by Temporal. */
export interface ActivityStepType<T extends string = string, C extends z.ZodType = z.ZodType> extends StepTypeBase<T, C> {
  runsIn: 'activity';
  /**
   * True for a step that only computes from its scope (no request, no file, bounded in time by the
   * expression limits): it runs as a local activity, its call kept out of Temporal's history.
   */
  pure?: true;
  /** False when the config holds expressions itself and must reach `execute` as written. */
  renderConfig: boolean;
  /** Start-to-close timeout of one attempt. */
  attemptTimeoutMs(config: z.output<C>): number;
  execute(config: z.output<C>, ctx: ActivityStepContext): Promise<unknown>;
}

/** A step the workflow performs itself with timers and signals; its config is rendered by an activity first. */
export interface WorkflowStepType<T extends string = string, C extends z.ZodType = z.ZodType> extends StepTypeBase<T, C> {
  runsIn: 'workflow';
  run(config: Record<string, unknown>, ctx: WorkflowStepContext): Promise<WorkflowStepResult>;
}

export type StepType<T extends string = string, C extends z.ZodType = z.ZodType> = ActivityStepType<T, C> | WorkflowStepType<T, C>;
