/**
 * In-memory stand-ins for the activities (samples-typescript style): no Postgres, no HTTP. They
 * record what the workflows called them with and emulate the real contract of `executeStep` and
 * `prepareStep`: `{ skipped: true }` when the step's `if` is false, an outcome with attempts and
 * timings on success, a non-retryable `HttpStatusError` carrying `{ attempts, startedAt }` on failure.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Activities, StepCall, StepFailureDetails, StepOutcome } from '../../activities';
import type { ExpressionScope } from '../../domain/flow-types';

type Input<K extends keyof Activities> = Parameters<Activities[K]>[0];

/** How a step behaves when the fake `executeStep` runs it, by step key (`auth.<id>` for auth steps). */
export interface StepScript {
  /** Real milliseconds the step takes; cancelling the activity (worker shutdown) cuts it short. */
  ms?: number;
  /** Fails the step with this message, as an HTTP step answered with an unexpected status would. */
  fail?: string;
  output?: unknown;
}

export interface FakeOptions {
  /**
   * Values of the `if` expressions the steps use, instead of evaluating JSONata; an expression
   * missing from the table fails the step with an ExpressionError, so a typo cannot pass silently.
   */
  conditions?: Record<string, boolean>;
  steps?: Record<string, StepScript>;
  /** Attempts of \`waitForRunSlots\` answered busy before the runs asking are granted their slots. */
  busySlotAsks?: number;
}

/** One `executeStep` attempt, in real time. */
export interface Span {
  key: string;
  runId: string;
  start: number;
  end?: number;
  /** The activity learned it was cancelled (at worker shutdown at the latest) before it finished. */
  cancelled?: boolean;
  scope: ExpressionScope;
}

export interface FakeActivities {
  activities: Activities;
  /** Every activity call in order: its name and input. */
  calls: { name: keyof Activities; input: unknown }[];
  /** `executeStep` attempts that got past the `if`, by step key of the last attempt. */
  spans: Map<string, Span>;
  /** Keys `executeStep` and `prepareStep` were called for, in call order (including skipped ones). */
  stepCalls: string[];
  /** What the workflows passed to `recordRunFinished`, by run id. */
  finished: Map<string, Input<'recordRunFinished'>>;
  /** The one run's `recordRunFinished` input; throws if there is not exactly one. */
  onlyFinished(): Input<'recordRunFinished'>;
}

export function fakeActivities(options: FakeOptions = {}): FakeActivities {
  const conditions = options.conditions ?? {};
  const scripts = options.steps ?? {};
  const calls: FakeActivities['calls'] = [];
  const spans = new Map<string, Span>();
  const stepCalls: string[] = [];
  const finished = new Map<string, Input<'recordRunFinished'>>();
  let slotAsks = 0;
  const slotBusy = () => ++slotAsks <= (options.busySlotAsks ?? 0);

  const holds = (expression: string | undefined): boolean => {
    if (expression === undefined) return true;
    if (!(expression in conditions))
      throw ApplicationFailure.nonRetryable(`the test gave no value for the condition "${expression}"`, 'ExpressionError');
    return conditions[expression];
  };

  const activities: Activities = {
    async recordBatch(input) {
      calls.push({ name: 'recordBatch', input });
    },
    async recordRunStarted(input) {
      calls.push({ name: 'recordRunStarted', input });
    },
    async recordSteps(input) {
      calls.push({ name: 'recordSteps', input });
    },
    async recordRunFinished(input) {
      calls.push({ name: 'recordRunFinished', input });
      finished.set(input.runId, input);
    },
    async recordStepEnd(input) {
      calls.push({ name: 'recordStepEnd', input });
    },
    async recordRunsCancelled(input) {
      calls.push({ name: 'recordRunsCancelled', input });
    },
    async batchRunIds(input) {
      calls.push({ name: 'batchRunIds', input });
      throw ApplicationFailure.nonRetryable('large batches are tested end to end (test/large-batches.test.ts)');
    },
    async loadRunInput(input) {
      calls.push({ name: 'loadRunInput', input });
      throw ApplicationFailure.nonRetryable('large batches are tested end to end (test/large-batches.test.ts)');
    },
    async recordQueuedRunsCancelled(input) {
      calls.push({ name: 'recordQueuedRunsCancelled', input });
    },
    async deleteSchedule(input) {
      calls.push({ name: 'deleteSchedule', input });
    },
    async prepareScheduledBatch(input) {
      calls.push({ name: 'prepareScheduledBatch', input });
      throw ApplicationFailure.nonRetryable('schedules are tested end to end (test/schedules.test.ts)');
    },
    async deliverWebhook(input) {
      calls.push({ name: 'deliverWebhook', input });
    },
    async sweepRetention(input) {
      calls.push({ name: 'sweepRetention', input });
      throw ApplicationFailure.nonRetryable('retention is tested end to end (test/retention.test.ts)');
    },
    async prepareSubFlow(input) {
      calls.push({ name: 'prepareSubFlow', input });
      throw ApplicationFailure.nonRetryable('sub-flows are tested end to end (test/sub-flows.test.ts)');
    },
    async waitForRunSlots(input) {
      calls.push({ name: 'waitForRunSlots', input });
      if (slotBusy()) throw ApplicationFailure.retryable('waiting: account has 1 runs running (FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT=1)', 'RunSlotBusy');
      return { granted: input.runIds.map((_, i) => i), ended: [] };
    },
    async resolveScope(scope) {
      calls.push({ name: 'resolveScope', input: scope });
      return scope;
    },
    async recordAgentAttempt(input) {
      calls.push({ name: 'recordAgentAttempt', input });
      return { output: input.result.status === 'succeeded' ? input.result.output : null };
    },
    async dispatchToAgent(input) {
      calls.push({ name: 'dispatchToAgent', input });
      throw ApplicationFailure.nonRetryable('agents are tested end to end (test/agent-runs.test.ts)', 'AgentOffline');
    },
    async prepareStep(call: StepCall) {
      calls.push({ name: 'prepareStep', input: call });
      stepCalls.push(call.key);
      if (!holds(call.step.if)) return { skipped: true, config: {} };
      return { skipped: false, config: { ...call.step.config } as Record<string, unknown> };
    },
    async executeStep(call: StepCall): Promise<StepOutcome> {
      calls.push({ name: 'executeStep', input: call });
      stepCalls.push(call.key);
      const ctx = Context.current();
      const startedAt = new Date();
      if (!holds(call.step.if)) return { skipped: true };
      const script = scripts[call.key] ?? {};
      const span: Span = { key: call.key, runId: call.runId, start: startedAt.getTime(), scope: call.scope };
      spans.set(call.key, span);
      try {
        if (script.ms) await ctx.sleep(script.ms);
      } catch (err) {
        span.cancelled = true;
        throw err;
      } finally {
        span.end = Date.now();
      }
      if (script.fail) {
        const details: StepFailureDetails = { attempts: ctx.info.attempt, startedAt: startedAt.toISOString() };
        throw ApplicationFailure.create({ nonRetryable: true, type: 'HttpStatusError', message: script.fail, details: [details] });
      }
      const finishedAt = new Date();
      return {
        skipped: false,
        output: script.output ?? { step: call.key },
        attempts: ctx.info.attempt,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationMs: finishedAt.getTime() - startedAt.getTime(),
      };
    },
  };

  return {
    activities,
    calls,
    spans,
    stepCalls,
    finished,
    onlyFinished: () => {
      if (finished.size !== 1) throw new Error(`expected one finished run, got ${finished.size}`);
      return [...finished.values()][0];
    },
  };
}
