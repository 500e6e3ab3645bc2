/**
 * Runs one step of a flow run, dispatching on its registered type (steps/): an activity step is
 * one activity with the step's retry policy; a workflow step (delay, approval) runs here on
 * timers and signals, its config rendered by an activity first.
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, condition, isCancellation, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities, StepCall, StepFailureDetails, StepOutcome } from '../activities';
import type { ExpressionScope, StepState } from '../domain/flow-types';
import { nonRetryableErrors, stepType } from '../steps';
import type { ActivityStepType, Decision, WorkflowStepType } from '../steps/step-type';
import { record } from './record';
import { finish, nowIso, row, type Node } from './run-graph';

const DEFAULT_RETRY = { maxAttempts: 3, initialIntervalMs: 1000, backoffCoefficient: 2 };


export interface StepRunContext {
  runId: string;
  scope: ExpressionScope;
  /** Names of the secret variables, for the activities to mask. */
  secrets: string[];
  /** Masks secret values in what is recorded. */
  redact: <T>(value: T) => T;
  /** Whether a decision for this step's key has arrived (approval signal). */
  decisionFor(key: string): Decision | undefined;
}

function failureOf(err: unknown): { message: string; details?: StepFailureDetails } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure)
    return { message: cause.message, details: cause.details?.[0] as StepFailureDetails | undefined };
  return { message: (cause as Error)?.message ?? String(cause) };
}

async function runActivityStep(n: Node, type: ActivityStepType, call: StepCall): Promise<void> {
  const retry = { ...DEFAULT_RETRY, ...n.step.retry };
  const acts = proxyActivities<Activities>({
    startToCloseTimeout: type.attemptTimeoutMs(n.step.config),
    retry: {
      maximumAttempts: retry.maxAttempts,
      initialInterval: retry.initialIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
      nonRetryableErrorTypes: nonRetryableErrors(type),
    },
  });
  const outcome: StepOutcome = await acts.executeStep(call);
  if (outcome.skipped) return finish(n, 'skipped');
  const { skipped: _s, ...rest } = outcome;
  n.state = { ...n.state, ...rest, status: 'succeeded' };
}

async function runWorkflowStep(n: Node, type: WorkflowStepType, call: StepCall, ctx: StepRunContext): Promise<void> {
  const prepared = await record.prepareStep(call);
  if (prepared.skipped) {
    finish(n, 'skipped');
    await record.recordSteps({ runId: ctx.runId, steps: [ctx.redact(row(n))] });
    return;
  }
  let waited = false;
  const result = await type.run(prepared.config, {
    sleep: (ms) => sleep(ms),
    now: () => Date.now(),
    awaitDecision: async (timeoutMs) => {
      waited = true;
      n.state = { ...n.state, status: 'waiting', attempts: 1 };
      await record.recordSteps({ runId: ctx.runId, steps: [ctx.redact(row(n))], runStatus: 'waiting' });
      const has = () => ctx.decisionFor(n.key) !== undefined;
      if (timeoutMs === undefined) await condition(has);
      else await condition(has, timeoutMs);
      return ctx.decisionFor(n.key);
    },
  });
  const extra: Partial<StepState> = { attempts: 1, output: result.output, ...(result.error ? { error: result.error } : {}) };
  finish(n, result.status, extra);
  await record.recordSteps({ runId: ctx.runId, steps: [ctx.redact(row(n))], ...(waited ? { runStatus: 'running' as const } : {}) });
}

/** Runs `n` to an end state; a failure is recorded on the node, never thrown, so sibling branches go on. */
export async function runStep(n: Node, ctx: StepRunContext): Promise<void> {
  const call: StepCall = { runId: ctx.runId, key: n.key, position: n.position, step: n.step, scope: ctx.scope, ...(ctx.secrets.length ? { secrets: ctx.secrets } : {}) };
  n.state = { ...n.state, status: 'running', startedAt: nowIso() };
  try {
    const type = stepType(n.step.type);
    if (!type) throw ApplicationFailure.nonRetryable(`step type ${n.step.type} is not supported by this engine version`);
    if (type.runsIn === 'activity') await runActivityStep(n, type, call);
    else await runWorkflowStep(n, type, call, ctx);
  } catch (err) {
    if (isCancellation(err)) {
      finish(n, 'cancelled');
      return;
    }
    const { message, details } = failureOf(err);
    finish(n, 'failed', { error: message, attempts: details?.attempts ?? Math.max(1, n.state.attempts), startedAt: details?.startedAt ?? n.state.startedAt });
    await CancellationScope.nonCancellable(() => record.recordSteps({ runId: ctx.runId, steps: [ctx.redact(row(n))] }));
  }
}
