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
import { findRunOwner } from '../db/runs';
import { isOutputRef } from '../domain/output-refs';
import { redactor } from '../domain/secrets';
import { workerLog } from '../platform/log';
import { queueLag, stepDuration } from '../platform/metrics';
import { nonRetryableErrors, stepType } from '../steps';
import type { BrowserRuntime } from '../steps/step-type';
import type { RunRecorded, StepCall, StepEndRecords, StepFailureDetails, StepOutcome } from '../workflows/contract';
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
import { startLine, stepRow, succeededLine, timing, type StepRecords } from './step-records';
import { templatingFor } from './templating';

/** How long an attempt waits for its records once its call is made; what Postgres has not taken by then goes back to the workflow. */
export const RECORD_WAIT_MS = 5_000;
/** What an attempt keeps clear of its start-to-close deadline (a tenth of it when that is shorter): no call begun, no record awaited, past it. */
const DEADLINE_MARGIN_MS = 2_000;

/** Whether an error of `errorType` fails a step of this call's type at once (steps/: the common ones and the type's own). */
function fatalFor(call: StepCall, errorType: string | null | undefined): boolean {
  const type = stepType(call.step.type);
  return !!errorType && !!type && nonRetryableErrors(type).includes(errorType);
}

/** `p`'s value if it settles within `ms` (its error thrown), else `{ done: false }`; `p` goes on either way. */
async function within<T>(p: Promise<T>, ms: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ done: false }>((resolve) => (timer = setTimeout(() => resolve({ done: false }), ms)));
  try {
    return await Promise.race([p.then((value) => ({ done: true as const, value })), late]);
  } finally {
    clearTimeout(timer);
  }
}

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
    const owner = await patiently(() => findRunOwner(dataSource, call.runId), recordPatienceMs);
    if (!owner) throw ApplicationFailure.nonRetryable(`run ${call.runId} no longer exists`, 'RunGone');
    return createBrowserRuntime(
      { pool: browsers.pool, recorder: platformRecorder({ store: browsers.store, projections, dataSource }), publicUrl },
      { runId: call.runId, publicRunId: call.scope.run.id, accountId: owner.accountId, flowId: call.scope.run.flowId, stepKey: call.key, attempt, browser: owner.browser ?? undefined, signal, redact },
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

    /**
     * Runs a step whose type runs as an activity (steps/): one call per attempt, retried by Temporal.
     * Once its call is made the attempt never waits on Postgres past \`RECORD_WAIT_MS\` (nor past its
     * own deadline): what Postgres has not taken by then is handed back to the workflow, which writes
     * it with \`recordStepEnd\`, so a stalled database can delay a step's records but never make its
     * call again. The attempt heartbeats throughout.
     */
    async executeStep(call: StepCall): Promise<StepOutcome> {
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      queueLag.observe({ queue: ctx.info.taskQueue }, Math.max(0, Date.now() - ctx.info.currentAttemptScheduledTimestampMs) / 1000);
      const deadline = Date.now() + ctx.info.startToCloseTimeoutMs;
      const margin = Math.min(DEADLINE_MARGIN_MS, ctx.info.startToCloseTimeoutMs / 10);
      const recordWait = () => Math.max(0, Math.min(RECORD_WAIT_MS, deadline - Date.now() - margin));
      const startedAt = clock();
      const redact = redactor(call.scope.vars, call.secrets);
      // The attempt's requests (masked) are written with its end: with the step's row when it succeeds, on their own when not.
      const requests: RunRequest[] = [];
      let held: HeldStart | undefined;
      /** Set once the attempt stops waiting for its records: the links not yet begun are left to the workflow. */
      let handedBack = false;
      // The run's start, when this step carries it, is written beside the attempt, not before its call.
      const carriedStart = runs.carriedStart(call);
      carriedStart.catch(() => undefined);
      return heartbeating(async () => {
        try {
          const scope = await outputs.resolved(call.scope);
          const browser = await browserFor(call, attempt, ctx.cancellationSignal, redact);
          // An attempt Temporal has already given up on (its time spent waiting above) makes no call: its retry does.
          if (ctx.cancellationSignal.aborted || Date.now() > deadline - margin)
            throw ApplicationFailure.retryable('the attempt ran out of time before its call was made', 'AttemptExpired');
          const result = await attemptStep(call, scope, attempt, ctx.cancellationSignal, runtime, {
            started: async (at) => {
              held = heldStart(() => carriedStart.then(() => (handedBack ? undefined : steps.running(call, attempt, at))), startLine(call, attempt, at));
            },
            recordRequest: async (row) => void requests.push({ ...row, url: redact(row.url), error: redact(row.error), runId: call.runId, stepId: call.key }),
            ...(browser ? { browser } : {}),
          });
          if (result.skipped) {
            const start = await within(carriedStart, recordWait());
            return { skipped: true, ...runs.recordedOf(start.done ? start.value : undefined) };
          }
          stepDuration.observe({ type: call.step.type, status: 'succeeded' }, (result.finishedAt.getTime() - result.startedAt.getTime()) / 1000);
          const outcome = { skipped: false as const, output: await outputs.passable(call, result.output), ...timing(attempt, result.startedAt, result.finishedAt) };
          const { skipped: _s, ...ended } = outcome;
          const row = { ...ended, output: redact(result.output) };
          let startRecorded: true | undefined;
          const records = (async () => {
            startRecorded = await carriedStart;
            const started = await held?.take();
            if (handedBack) return undefined;
            await steps.succeeded(call, row, result.finishedAt, requests, started);
            return handedBack ? undefined : runs.carriedFinish(call, outcome.output, redact);
          })();
          const written = await within(records, recordWait());
          if (written.done) return { ...outcome, ...runs.recordedOf(startRecorded, written.value) };
          handedBack = true;
          records.catch(() => undefined);
          workerLog.warn({ runId: call.runId, stepId: call.key, attempt }, 'step succeeded; Postgres did not take its records in time: the workflow writes them (recordStepEnd)');
          const unrecorded: StepEndRecords = {
            runId: call.runId,
            row: { ...stepRow(call, 'succeeded'), ...row, ...(isOutputRef(outcome.output) ? { output: outcome.output } : {}) },
            lines: [...(held ? [startLine(call, attempt, result.startedAt)] : []), succeededLine(call, result.finishedAt)],
            requests,
            ...(isOutputRef(outcome.output) ? { mask: { vars: call.scope.vars, ...(call.secrets ? { secrets: call.secrets } : {}) } } : {}),
          };
          return { ...outcome, ...runs.recordedOf(startRecorded), unrecorded };
        } catch (caught) {
          const err = runGone(caught);
          const details: StepFailureDetails = { attempts: attempt, startedAt: startedAt.toISOString() };
          const message = redact((err as Error)?.message ?? String(err));
          // The failed attempt's records, as far as Postgres takes them in time; the rest are written when it can.
          const records = (async () => {
            await carriedStart.catch(() => undefined);
            await held?.write().catch(() => undefined);
            if (requests.length > 0) await projections.requests(requests).catch(() => undefined);
            await steps.attemptFailed(call, attempt, message).catch(() => undefined);
          })();
          await within(records, recordWait());
          workerLog.warn({ runId: call.runId, stepId: call.key, stepType: call.step.type, attempt }, `step attempt failed: ${message}`);
          // The step type's non-retryable errors fail the step here, so its retry policy need not list them in every history.
          if (err instanceof ApplicationFailure)
            throw ApplicationFailure.create({ message, type: err.type ?? undefined, nonRetryable: err.nonRetryable || fatalFor(call, err.type), details: [details] });
          throw ApplicationFailure.create({ message, type: 'StepError', details: [details] });
        }
      });
    },

    /** A step's end its activity handed back (\`executeStep\`): written as the activity would have, idempotently. */
    async recordStepEnd(r: StepEndRecords): Promise<void> {
      let row = r.row;
      if (isOutputRef(row.output) && r.mask) {
        const loaded = await projections.loadOutputs([row.output]);
        row = { ...row, output: redactor(r.mask.vars, r.mask.secrets)(loaded.get(`${r.runId}\n${row.id}`) ?? null) };
      }
      const lines = r.lines.map((l) => ({ ...l, ts: l.ts === undefined ? undefined : new Date(l.ts) }));
      await projections.stepLogged(r.runId, row, lines, r.requests.map((q) => ({ ...q, ts: new Date(q.ts) })));
    },
  };
}
