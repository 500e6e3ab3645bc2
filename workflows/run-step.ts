/**
 * Runs one step of a flow run, dispatching on its registered type (steps/): an activity step is
 * one activity with the step's retry policy (a pure one, such as `transform`, a local activity); a
 * workflow step (delay, approval) runs here on timers and signals, its config rendered by an activity first.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  executeChild,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CarriedRunRecords, FlowRunWorkflow, RunRecorded, StepCall, StepFailureDetails, StepOutcome } from './contract';
import type { ExpressionScope, FlowRunInput, StepState } from '../domain/flow-types';
import { nonRetryableErrors, stepType } from '../steps';
import type { ActivityStepType, Decision, SubFlowResult, WorkflowStepType } from '../steps/step-type';
import { runWorkflowId, WorkflowTypes } from './definitions';
import { ACCOUNT_ID, BATCH_ID, FLOW_ID, inheritedLabels, RUN_SOURCE } from './search-attributes';
import { runSummary, stepSummary } from './summaries';
import { record } from './record';
import { finish, nowIso, row, type Node } from './run-graph';

const DEFAULT_RETRY = { maxAttempts: 3, initialIntervalMs: 1000, backoffCoefficient: 2 };
/** Steps heartbeat every second (activities/step-attempt.ts): one whose worker died is retried after this. */
const HEARTBEAT_TIMEOUT = '30 seconds';
/** A step waits this long (or its attempt timeout, if shorter) for its agent to pick it up; then it fails, naming the agent. */
const AGENT_PICKUP_TIMEOUT_MS = 5 * 60_000;
/** `dispatchToAgent` runs on the platform's workers; one that dies while it waits is replaced this many times in all. */
const AGENT_DISPATCH_ATTEMPTS = 5;
const AGENT_DISPATCH_SLACK_MS = 30_000;

export interface StepRunContext {
  runId: string;
  scope: ExpressionScope;
  /** Names of the secret variables, for the activities to mask. */
  secrets: string[];
  /** Masks secret values in what is recorded. */
  redact: <T>(value: T) => T;
  /** Whether a decision for this step's key has arrived (approval signal). */
  decisionFor(key: string): Decision | undefined;
  /** The agent the run's activity steps run on, if any. */
  agent?: FlowRunInput['agent'];
  /** The run itself, for the `flow` steps that start child runs. */
  run: FlowRunInput;
  /** The run's records a step's activity makes on the way (workflows/flow-run.ts), and what it reports it made. */
  carry?: {
    records(n: Node): CarriedRunRecords | undefined;
    recorded(r: RunRecorded['recorded']): void;
  };
}

/** A `flow` step's child run: recorded by an activity, run as a child workflow, its end as the step's output. */
async function runSubFlow(parent: FlowRunInput, stepKey: string, flowId: string, data: unknown): Promise<SubFlowResult> {
  const child = await record.prepareSubFlow({ parent, stepKey, flowId, data });
  try {
    const result = await executeChild<FlowRunWorkflow>(WorkflowTypes.flowRun, {
      workflowId: runWorkflowId(child.runId),
      args: [child],
      staticSummary: runSummary(child),
      typedSearchAttributes: [
        { key: FLOW_ID, value: flowId },
        { key: BATCH_ID, value: child.batchId },
        { key: ACCOUNT_ID, value: child.accountId },
        { key: RUN_SOURCE, value: child.source },
        ...inheritedLabels(workflowInfo().typedSearchAttributes),
      ],
    });
    return { runId: child.runId, status: 'succeeded', outputs: result?.outputs ?? {} };
  } catch (err) {
    if (isCancellation(err)) throw err;
    const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
    const type = cause instanceof ApplicationFailure ? cause.type : undefined;
    return { runId: child.runId, status: type === 'RunTimedOut' ? 'timed_out' : 'failed', outputs: {}, error: (cause as Error)?.message ?? String(cause) };
  }
}

function failureOf(err: unknown): { message: string; details?: StepFailureDetails } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure)
    return { message: cause.message, details: cause.details?.[0] as StepFailureDetails | undefined };
  return { message: (cause as Error)?.message ?? String(cause) };
}

async function runActivityStep(n: Node, type: ActivityStepType, call: StepCall, ctx: StepRunContext): Promise<void> {
  const retry = { ...DEFAULT_RETRY, ...n.step.retry };
  const options = {
    summary: stepSummary(n.key, n.step),
    startToCloseTimeout: type.attemptTimeoutMs(n.step.config),
    retry: {
      maximumAttempts: retry.maxAttempts,
      initialInterval: retry.initialIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
      // The type's non-retryable errors are thrown non-retryable by executeStep (activities/execute-step.ts), not listed here.
    },
  };
  // A pure step (a type's `pure`) is a local activity, in the workflow task that schedules it: no activity
  // events, no workflow task of its own, and its call (a scope with the outputs before it) never in the
  // history; its result is, in a marker.
  const acts = type.pure ? proxyLocalActivities<Activities>(options) : proxyActivities<Activities>({ ...options, heartbeatTimeout: HEARTBEAT_TIMEOUT });
  const outcome: StepOutcome = await acts.executeStep(call);
  ctx.carry?.recorded(outcome.recorded);
  if (outcome.skipped) return finish(n, 'skipped');
  // The step's call is made and its result kept in this history; its records wait for Postgres here, never the call.
  if (outcome.unrecorded) await record.recordStepEnd(outcome.unrecorded);
  const { skipped: _s, recorded: _r, unrecorded: _u, ...rest } = outcome;
  n.state = { ...n.state, ...rest, status: 'succeeded' };
}

/**
 * An activity step on an agent: each attempt is handed to the account's agent of that name through
 * the gateway's queue (`dispatchToAgent`, on the platform's own workers) and comes back with what
 * it did; a platform worker records it. Retries are the workflow's, so every attempt's requests are
 * recorded, and an attempt whose agent died (`AgentLost`) is one of them.
 */
async function runAgentStep(n: Node, type: ActivityStepType, call: StepCall, run: FlowRunInput, agent: NonNullable<FlowRunInput['agent']>): Promise<void> {
  const retry = { ...DEFAULT_RETRY, ...n.step.retry };
  const attemptTimeoutMs = type.attemptTimeoutMs(n.step.config);
  const pickupTimeoutMs = Math.min(attemptTimeoutMs, AGENT_PICKUP_TIMEOUT_MS);
  const dispatch = proxyActivities<Activities>({
    summary: stepSummary(n.key, n.step, agent.name),
    startToCloseTimeout: pickupTimeoutMs + attemptTimeoutMs + AGENT_DISPATCH_SLACK_MS,
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: { maximumAttempts: AGENT_DISPATCH_ATTEMPTS, nonRetryableErrorTypes: ['AgentOffline', 'AgentLost'] },
  });
  const recorded = { runId: call.runId, key: call.key, position: call.position, step: call.step, vars: call.scope.vars, ...(call.secrets ? { secrets: call.secrets } : {}) };
  for (let attempt = 1; ; attempt++) {
    const { run: _carried, ...agentCall } = call;
    const result = await dispatch.dispatchToAgent({
      call: { ...agentCall, attempt, page: { accountId: run.accountId, ...(agent.browser ? { browser: agent.browser } : {}) } },
      accountId: run.accountId,
      agent: agent.name,
      pickupTimeoutMs,
      attemptTimeoutMs,
    });
    const { output } = await record.recordAgentAttempt({ call: recorded, attempt, result });
    if (result.status === 'skipped') return finish(n, 'skipped');
    if (result.status === 'succeeded') {
      const finishedAt = Date.parse(result.finishedAt);
      n.state = { ...n.state, output, attempts: attempt, startedAt: result.startedAt, finishedAt: result.finishedAt, durationMs: finishedAt - Date.parse(result.startedAt), status: 'succeeded' };
      return;
    }
    const fatal = result.nonRetryable || (result.errorType !== undefined && nonRetryableErrors(type).includes(result.errorType));
    if (fatal || attempt >= retry.maxAttempts) {
      const details: StepFailureDetails = { attempts: attempt, startedAt: result.startedAt };
      throw ApplicationFailure.create({ message: result.error, type: result.errorType, nonRetryable: true, details: [details] });
    }
    await sleep(retry.initialIntervalMs * retry.backoffCoefficient ** (attempt - 1));
  }
}

async function runWorkflowStep(n: Node, type: WorkflowStepType, call: StepCall, ctx: StepRunContext): Promise<void> {
  const prepared = await record.prepareStep(call);
  ctx.carry?.recorded(prepared.recorded);
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
    runFlow: (flowId, data) => runSubFlow(ctx.run, n.key, flowId, data),
  });
  const extra: Partial<StepState> = { attempts: 1, output: result.output, ...(result.error ? { error: result.error } : {}) };
  finish(n, result.status, extra);
  await record.recordSteps({ runId: ctx.runId, steps: [ctx.redact(row(n))], ...(waited ? { runStatus: 'running' as const } : {}) });
}

/** Runs `n` to an end state; a failure is recorded on the node, never thrown, so sibling branches go on. */
export async function runStep(n: Node, ctx: StepRunContext): Promise<void> {
  const carried = ctx.carry?.records(n);
  const call: StepCall = {
    runId: ctx.runId,
    key: n.key,
    position: n.position,
    step: n.step,
    scope: ctx.scope,
    ...(ctx.secrets.length ? { secrets: ctx.secrets } : {}),
    ...(carried ? { run: carried } : {}),
  };
  n.state = { ...n.state, status: 'running', startedAt: nowIso() };
  try {
    const type = stepType(n.step.type);
    if (!type) throw ApplicationFailure.nonRetryable(`step type ${n.step.type} is not supported by this engine version`);
    if (type.runsIn === 'activity') await (ctx.agent ? runAgentStep(n, type, call, ctx.run, ctx.agent) : runActivityStep(n, type, call, ctx));
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
