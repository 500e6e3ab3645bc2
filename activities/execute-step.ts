/**
 * Executing a step: `executeStep` runs one attempt of a step whose type runs as an activity
 * (steps/), retried by Temporal; `prepareStep` evaluates `if` and renders the config of a step the
 * workflow runs itself (delay, approval).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import type { ArtifactStore } from '../db/artifact-store';
import type { RunRequest } from '../db/entities';
import type { Projections } from '../db/projections';
import { redactor } from '../domain/secrets';
import { workerLog } from '../platform/log';
import { queueLag, stepDuration } from '../platform/metrics';
import type { BrowserRuntime } from '../steps/step-type';
import type { RunRecorded, StepCall, StepFailureDetails, StepOutcome } from '../workflows/contract';
import type { BrowserPool } from './browser/pool';
import { platformRecorder } from './browser/recorder';
import { BROWSER_STEP_TYPES, createBrowserRuntime } from './browser/runtime';
import type { ExpressionEvaluator } from './expressions';
import { heldStart, type HeldStart } from './held-start';
import type { OutputRefs } from './output-refs';
import { patiently } from './patience';
import type { RunRecords } from './run-records';
import { runGone } from './run-gone';
import { attemptStep, heartbeating, type StepRuntime } from './step-attempt';
import { startLine, timing, type StepRecords } from './step-records';
import { templatingFor } from './templating';

export interface StepActivityDeps {
  dataSource: DataSource;
  projections: Projections;
  clock: () => Date;
  expressions: ExpressionEvaluator;
  accountOf: (runId: string) => Promise<string>;
  runtime: StepRuntime;
  recordPatienceMs: number;
  publicUrl: string;
  browsers?: { pool: BrowserPool; store: ArtifactStore };
  outputs: OutputRefs;
  steps: StepRecords;
  runs: RunRecords;
}

export function createStepActivities(deps: StepActivityDeps) {
  const { dataSource, projections, clock, expressions, accountOf, runtime, recordPatienceMs, publicUrl, browsers, outputs, steps, runs } = deps;

  /** A browser bound to one attempt of a browser or scan step (the run's account and browser read from its row). */
  const browserFor = async (call: StepCall, attempt: number, signal: AbortSignal, redact: <T>(v: T) => T): Promise<BrowserRuntime | undefined> => {
    if (!browsers || !BROWSER_STEP_TYPES.has(call.step.type)) return undefined;
    const rows: { account_id: string; browser: string | null }[] = await patiently(() => dataSource.query('SELECT account_id, browser FROM runs WHERE id = $1', [call.runId]), recordPatienceMs);
    if (!rows[0]) throw ApplicationFailure.nonRetryable(`run ${call.runId} no longer exists`, 'RunGone');
    return createBrowserRuntime(
      { pool: browsers.pool, recorder: platformRecorder({ store: browsers.store, projections, dataSource }), publicUrl },
      { runId: call.runId, publicRunId: call.scope.run.id, accountId: rows[0].account_id, flowId: call.scope.run.flowId, stepKey: call.key, attempt, browser: rows[0].browser ?? undefined, signal, redact },
    );
  };

  return {
    /** Evaluates `if` and resolves the config of a step the workflow runs itself (delay, approval). */
    async prepareStep(call: StepCall): Promise<RunRecorded & { skipped: boolean; config: Record<string, unknown> }> {
      const recorded = runs.recordedOf(await runs.carriedStart(call));
      const t = templatingFor(expressions, await outputs.resolved(call.scope), call.key, () => accountOf(call.runId));
      if (!(await t.conditionHolds(call.step.if))) return { skipped: true, config: {}, ...recorded };
      const config = (await t.render(call.step.config)) as Record<string, unknown>;
      await steps.running(call, 1, clock());
      return { skipped: false, config, ...recorded };
    },

    /** Runs a step whose type runs as an activity (steps/): one call per attempt, retried by Temporal. */
    async executeStep(call: StepCall): Promise<StepOutcome> {
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      queueLag.observe({ queue: ctx.info.taskQueue }, Math.max(0, Date.now() - ctx.info.currentAttemptScheduledTimestampMs) / 1000);
      const startedAt = clock();
      const redact = redactor(call.scope.vars, call.secrets);
      // The attempt's requests (masked) are written with its end: with the step's row when it succeeds, on their own when not.
      const requests: RunRequest[] = [];
      let held: HeldStart | undefined;
      try {
        const start = await runs.carriedStart(call);
        const scope = await outputs.resolved(call.scope);
        const browser = await browserFor(call, attempt, ctx.cancellationSignal, redact);
        const result = await heartbeating(() =>
          attemptStep(call, scope, attempt, ctx.cancellationSignal, runtime, {
            started: async (at) => {
              held = heldStart(() => steps.running(call, attempt, at), startLine(call, attempt, at));
            },
            recordRequest: async (row) => void requests.push({ ...row, url: redact(row.url), error: redact(row.error), runId: call.runId, stepId: call.key }),
            ...(browser ? { browser } : {}),
          }),
        );
        if (result.skipped) return { skipped: true, ...runs.recordedOf(start) };
        stepDuration.observe({ type: call.step.type, status: 'succeeded' }, (result.finishedAt.getTime() - result.startedAt.getTime()) / 1000);
        const outcome = { skipped: false as const, output: await outputs.passable(call, result.output), ...timing(attempt, result.startedAt, result.finishedAt) };
        await steps.succeeded(call, { ...outcome, output: redact(result.output) }, result.finishedAt, requests, await held?.take());
        requests.length = 0;
        const finish = await runs.carriedFinish(call, outcome.output, redact);
        return { ...outcome, ...runs.recordedOf(start, finish) };
      } catch (caught) {
        const err = runGone(caught);
        const details: StepFailureDetails = { attempts: attempt, startedAt: startedAt.toISOString() };
        const message = redact((err as Error)?.message ?? String(err));
        await held?.write().catch(() => undefined);
        if (requests.length > 0) await projections.requests(requests).catch(() => undefined);
        await steps.attemptFailed(call, attempt, message).catch(() => undefined);
        workerLog.warn({ runId: call.runId, stepId: call.key, stepType: call.step.type, attempt }, `step attempt failed: ${message}`);
        if (err instanceof ApplicationFailure)
          throw ApplicationFailure.create({ message, type: err.type ?? undefined, nonRetryable: err.nonRetryable ?? false, details: [details] });
        throw ApplicationFailure.create({ message, type: 'StepError', details: [details] });
      }
    },
  };
}
