/**
 * Activities: every side effect of a run. Built by a factory so the worker injects the real
 * data source, HTTP client and clock (samples-typescript `activities-dependency-injection`).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { BatchRunInput, ExpressionScope, RunStatus, StepDefinition } from '../domain';
import { insertBatchRows, Projections, type StepRow } from '../db/projections';
import { DEFAULT_INLINE_OUTPUT_BYTES, isOutputRef, type OutputRef } from '../domain/output-refs';
import { redactor } from '../domain/secrets';
import { stepType } from '../steps';
import { UNSUPPORTED_STEP } from '../steps/step-type';
import { createScheduleActivities } from './schedules';
import { ExpressionEvaluator } from './expressions';
import { templatingFor } from './templating';
import { createEgressFetch } from './egress';

export interface ActivityDeps {
  dataSource: DataSource;
  /** The http steps' fetch; by default one under the default egress policy (public addresses only) and body cap. */
  fetch?: typeof globalThis.fetch;
  clock?: () => Date;
  /** Temporal client, for the activities that manage schedules; the worker builds it on its connection. */
  client?: Client;
  /** Bounded JSONata evaluator shared by the worker's activities. */
  expressions?: ExpressionEvaluator;
  /** Outputs larger than this (JSON bytes) are kept in Postgres and passed on by reference. */
  inlineOutputBytes?: number;
}

export interface StepCall {
  runId: string;
  /** The id the step is recorded under (`auth.<id>` for a suite's auth steps). */
  key: string;
  position: number;
  step: StepDefinition;
  scope: ExpressionScope;
  /** Names of the run's secret variables (besides those named like one). */
  secrets?: string[];
}

export type StepOutcome =
  | { skipped: true }
  | { skipped: false; output: unknown; attempts: number; startedAt: string; finishedAt: string; durationMs: number };

/** Details attached to a step's failure, so the workflow can report attempts and timing. */
export interface StepFailureDetails {
  attempts: number;
  startedAt: string;
}

export const stepName = (step: StepDefinition): string => step.name ?? step.id;

export function createActivities({
  dataSource,
  fetch = createEgressFetch(),
  clock = () => new Date(),
  client,
  expressions = new ExpressionEvaluator(),
  inlineOutputBytes = DEFAULT_INLINE_OUTPUT_BYTES,
}: ActivityDeps) {
  const projections = new Projections(dataSource, clock);

  /** The scope with every large-output reference replaced by the output it stands for. */
  const resolved = async (scope: ExpressionScope): Promise<ExpressionScope> => {
    const entries = [...Object.values(scope.steps), ...Object.values(scope.auth)];
    const refs = entries.map((e) => e.output).filter(isOutputRef);
    if (refs.length === 0) return scope;
    const loaded = await projections.loadOutputs(refs);
    const resolve = (view: ExpressionScope['steps']) =>
      Object.fromEntries(
        Object.entries(view).map(([id, e]) => [
          id,
          isOutputRef(e.output) ? { ...e, output: loaded.get(`${e.output.$outputRef.runId}\n${e.output.$outputRef.stepId}`) ?? null } : e,
        ]),
      );
    return { ...scope, steps: resolve(scope.steps), auth: resolve(scope.auth) };
  };

  /** The output itself, or, when it is too large for a Temporal payload, a reference to it kept in Postgres. */
  const passable = async (call: StepCall, output: unknown): Promise<unknown> => {
    const bytes = Buffer.byteLength(JSON.stringify(output ?? null));
    if (bytes <= inlineOutputBytes) return output;
    await projections.keepOutput(call.runId, call.key, output, bytes);
    const ref: OutputRef = { $outputRef: { runId: call.runId, stepId: call.key, bytes } };
    return ref;
  };

  const running = async (call: StepCall, attempt: number, startedAt: Date) => {
    const row: StepRow = {
      id: call.key,
      position: call.position,
      name: stepName(call.step),
      type: call.step.type,
      status: 'running',
      attempts: attempt,
      startedAt: startedAt.toISOString(),
    };
    await projections.upsertSteps(call.runId, [row]);
    await projections.log(call.runId, [
      { key: `step.${call.key}.attempt.${attempt}`, level: 'info', stepId: call.key, message: `step ${call.key} started (attempt ${attempt})`, ts: startedAt },
    ]);
  };

  return {
    ...createScheduleActivities(client),

    async recordBatch(input: BatchRunInput): Promise<void> {
      await dataSource.transaction((m) => insertBatchRows(m, input));
    },

    async recordRunStarted(input: { runId: string; steps: StepRow[] }): Promise<void> {
      await projections.runStarted(input.runId, Context.current().info.workflowExecution?.runId ?? '');
      await projections.seedSteps(input.runId, input.steps);
      await projections.log(input.runId, [{ key: 'run.started', level: 'info', message: 'run started' }]);
    },

    /** Records steps the workflow ran itself; `runStatus` moves the run in and out of `waiting`. */
    async recordSteps(input: { runId: string; steps: StepRow[]; runStatus?: 'running' | 'waiting' }): Promise<void> {
      await projections.upsertSteps(input.runId, input.steps);
      if (input.runStatus) await projections.runStatus(input.runId, input.runStatus);
      await projections.log(
        input.runId,
        input.steps.map((s) => ({
          key: `step.${s.id}.${s.status}`,
          level: s.status === 'failed' ? 'error' : 'info',
          stepId: s.id,
          message: `step ${s.id} ${s.status}${s.error ? `: ${s.error}` : ''}`,
        })),
      );
    },

    async recordRunFinished(input: {
      runId: string;
      status: RunStatus;
      error: { step: string; message: string } | null;
      outputs: unknown;
      steps: StepRow[];
    }): Promise<void> {
      await projections.runFinished(input.runId, input);
    },

    async recordRunsCancelled(input: { runIds: string[] }): Promise<void> {
      await projections.runsCancelled(input.runIds);
    },

    /** Evaluates `if` and resolves the config of a step the workflow runs itself (delay, approval). */
    async prepareStep(call: StepCall): Promise<{ skipped: boolean; config: Record<string, unknown> }> {
      const t = templatingFor(expressions, await resolved(call.scope), call.key);
      if (!(await t.conditionHolds(call.step.if))) return { skipped: true, config: {} };
      const config = (await t.render(call.step.config)) as Record<string, unknown>;
      await running(call, 1, clock());
      return { skipped: false, config };
    },

    /** Runs a step whose type runs as an activity (steps/): one call per attempt, retried by Temporal. */
    async executeStep(call: StepCall): Promise<StepOutcome> {
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      const startedAt = clock();
      const redact = redactor(call.scope.vars, call.secrets);
      try {
        const type = stepType(call.step.type);
        if (type?.runsIn !== 'activity')
          throw ApplicationFailure.nonRetryable(`step type ${call.step.type} does not run as an activity`, UNSUPPORTED_STEP);
        const t = templatingFor(expressions, await resolved(call.scope), call.key);
        if (!(await t.conditionHolds(call.step.if))) return { skipped: true };
        await running(call, attempt, startedAt);
        const config = type.renderConfig ? await t.render(call.step.config) : call.step.config;
        const output = await type.execute(config, {
          attempt,
          signal: ctx.cancellationSignal,
          fetch,
          clock,
          evaluate: t.evaluate,
          recordRequest: (row) => projections.request({ ...row, url: redact(row.url), error: redact(row.error), runId: call.runId, stepId: call.key }),
        });
        const finishedAt = clock();
        const outcome = {
          skipped: false as const,
          output: await passable(call, output),
          attempts: attempt,
          startedAt: startedAt.toISOString(),
          finishedAt: finishedAt.toISOString(),
          durationMs: finishedAt.getTime() - startedAt.getTime(),
        };
        await projections.upsertSteps(call.runId, [
          { id: call.key, position: call.position, name: stepName(call.step), type: call.step.type, status: 'succeeded', error: undefined, ...outcome, output: redact(output) },
        ]);
        await projections.log(call.runId, [
          { key: `step.${call.key}.succeeded`, level: 'info', stepId: call.key, message: `step ${call.key} succeeded`, ts: finishedAt },
        ]);
        return outcome;
      } catch (err) {
        const details: StepFailureDetails = { attempts: attempt, startedAt: startedAt.toISOString() };
        const message = redact((err as Error)?.message ?? String(err));
        await projections
          .log(call.runId, [
            { key: `step.${call.key}.attempt.${attempt}.error`, level: 'warn', stepId: call.key, message: `step ${call.key} attempt ${attempt} failed: ${message}` },
          ])
          .catch(() => undefined);
        if (err instanceof ApplicationFailure)
          throw ApplicationFailure.create({ message, type: err.type ?? undefined, nonRetryable: err.nonRetryable ?? false, details: [details] });
        throw ApplicationFailure.create({ message, type: 'StepError', details: [details] });
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
