/**
 * One attempt of a step that runs as an activity, wherever it runs: a platform worker records
 * as it goes (activities/index.ts), an agent hands everything back for the platform to record
 * (activities/agent.ts). Evaluates `if`, renders the config and executes the step type.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ExpressionScope } from '../domain';
import { stepType } from '../steps';
import { UNSUPPORTED_STEP, type BrowserRuntime, type RequestRecord } from '../steps/step-type';
import type { ExpressionEvaluator } from './expressions';
import { templatingFor } from './templating';
import type { StepCall } from '../workflows/contract';

/** What a worker gives its steps: the guarded fetch, the clock and the bounded evaluator. */
export interface StepRuntime {
  fetch: typeof globalThis.fetch;
  clock: () => Date;
  expressions: ExpressionEvaluator;
  /** The account of a run, whose turn its expressions take on the evaluator; unset on an agent, which serves one account. */
  accountOf?: (runId: string) => Promise<string>;
}

export interface AttemptHooks {
  /** The step passed its `if` and is about to run. */
  started(startedAt: Date): Promise<void>;
  recordRequest(row: RequestRecord): Promise<void>;
  /** The worker's browser bound to this attempt, for browser and scan steps; none on an agent. */
  browser?: BrowserRuntime;
}

export type AttemptResult = { skipped: true } | { skipped: false; output: unknown; startedAt: Date; finishedAt: Date };

/** How often a step in progress tells Temporal it is alive; each beat also brings a cancellation back. */
export const HEARTBEAT_EVERY_MS = 1000;

/**
 * Runs `body` while heartbeating, so a cancelled run stops the step within a beat (its signal
 * aborts the step's requests) and a worker that dies is noticed at the heartbeat timeout. The
 * first beat is a second in: a step that ends sooner costs Temporal no heartbeat at all.
 */
export async function heartbeating<T>(body: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}

/** Runs the attempt; a failure is thrown as the step type threw it. `scope` has no output references left. */
export async function attemptStep(
  call: StepCall,
  scope: ExpressionScope,
  attempt: number,
  signal: AbortSignal,
  rt: StepRuntime,
  hooks: AttemptHooks,
): Promise<AttemptResult> {
  const type = stepType(call.step.type);
  if (type?.runsIn !== 'activity') throw ApplicationFailure.nonRetryable(`step type ${call.step.type} does not run as an activity`, UNSUPPORTED_STEP);
  const accountOf = rt.accountOf;
  const t = templatingFor(rt.expressions, scope, call.key, accountOf ? () => accountOf(call.runId) : '');
  if (!(await t.conditionHolds(call.step.if))) return { skipped: true };
  const startedAt = rt.clock();
  await hooks.started(startedAt);
  const config = type.renderConfig ? await t.render(call.step.config) : call.step.config;
  const output = await type.execute(config, { attempt, signal, fetch: rt.fetch, clock: rt.clock, evaluate: t.evaluate, recordRequest: hooks.recordRequest, browser: hooks.browser });
  return { skipped: false, output, startedAt, finishedAt: rt.clock() };
}
