/**
 * Activities: every side effect of a run. Built by a factory so the worker injects the real
 * data source, HTTP client and clock (samples-typescript `activities-dependency-injection`).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { IsNull, type DataSource } from 'typeorm';
import type { BatchRunInput, ExpressionScope, FlowRunInput, FlowRunRef, StepDefinition } from '../domain';
import { batchRunIds, runInputOf } from '../db/batch-plans';
import { FlowEntity, type RunRequest } from '../db/entities';
import { insertBatchRows, insertRunRows, Projections, type LogLine, type StepRow } from '../db/projections';
import { MAX_FLOW_DEPTH } from '../steps/flow';
import { stepType } from '../steps';
import { queueLag, runsFinished, runsStarted, stepDuration } from '../platform/metrics';
import { workerLog } from '../platform/log';
import { derivedId } from '../domain/derived-ids';
import { DEFAULT_INLINE_OUTPUT_BYTES, isOutputRef, type OutputRef } from '../domain/output-refs';
import { redactor } from '../domain/secrets';
import { isMissingRun } from '../db/errors';
import { RUN_GONE } from '../steps/step-type';
import type { AgentAttempt } from './agent';
import type { RecordedCall, RunEnd, RunRecorded, StepCall, StepFailureDetails, StepOutcome, StepRef } from '../workflows/contract';
import { recordHandedBack, type AgentPageRecords } from './browser/agent-recorder';
import { createRetentionActivities } from './retention';
import { createScheduledActivities } from './scheduled';
import { createScheduleActivities } from './schedules';
import { createWebhookActivities } from './webhooks';
import { createRunLimitActivities } from './run-limits';
import { createAgentDispatchActivities } from './agent-dispatch';
import { claimDescendant, DEFAULT_RUN_LIMITS, type RunLimits } from '../db/run-limits';
import { ExpressionEvaluator } from './expressions';
import { attemptStep, heartbeating, type StepRuntime } from './step-attempt';
import { templatingFor } from './templating';
import { createEgressFetch } from './egress';
import { DEFAULT_RECORD_PATIENCE_MS, patient, patiently } from './patience';
import type { ArtifactStore } from '../db/artifact-store';
import type { BrowserRuntime } from '../steps/step-type';
import type { BrowserPool } from './browser/pool';
import { platformRecorder } from './browser/recorder';
import { BROWSER_STEP_TYPES, createBrowserRuntime } from './browser/runtime';

/** The workflow↔activity contract (workflows/contract.ts), for those who import it from here. */
export type { CarriedRunRecords, RecordedCall, RunEnd, RunRecorded, StepCall, StepFailureDetails, StepOutcome } from '../workflows/contract';

/**
 * How long a step's start is held back: a step still running then has its start written; one that
 * ends sooner (most http and transform steps) writes its start with its end, in one statement. Until
 * then the run's detail shows the step running from the workflow's live state, not from this row.
 */
export const START_RECORD_DELAY_MS = 200;

/** An attempt's start record, held back \`START_RECORD_DELAY_MS\`. */
interface HeldStart {
  /** For the attempt's end: the start line to write with it, or nothing once the start was written (awaited). */
  take(): Promise<LogLine | undefined>;
  /** Writes the start now unless it was written (an attempt that failed). */
  write(): Promise<void>;
}

function heldStart(write: () => Promise<void>, line: LogLine): HeldStart {
  let writing: Promise<void> | undefined;
  const begin = () => {
    writing ??= write();
    // Awaited by take or write; until then a failure must not be an unhandled rejection.
    writing.catch(() => undefined);
    return writing;
  };
  const timer = setTimeout(begin, START_RECORD_DELAY_MS);
  return {
    async take() {
      clearTimeout(timer);
      if (!writing) return line;
      await writing;
      return undefined;
    },
    async write() {
      clearTimeout(timer);
      await begin();
    },
  };
}

/** Who records a run's start or end: the workflow itself, or a step's activity on its behalf (\`CarriedRunRecords\`). */
type RecordMode = 'always' | 'from-step';

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
  /** The gateway's public URL, for the links in webhooks and artifacts. */
  publicUrl?: string;
  /** The worker's browsers and the artifact store their screenshots go to; without them browser and scan steps fail. */
  browsers?: { pool: BrowserPool; store: ArtifactStore };
  /** How long a record waits out a Postgres outage before the activity fails (FLOWRUNS_RECORD_PATIENCE_MS). */
  recordPatienceMs?: number;
  /** Per-account bounds: running runs, runs started through \`flow\` steps under one run. */
  runLimits?: RunLimits;
}

export const stepName = (step: StepDefinition): string => step.name ?? step.id;

/** Runs whose account is kept in memory by `runAccounts` (the oldest forgotten first). */
const KNOWN_RUN_ACCOUNTS = 10_000;

/**
 * The account of a run, read once from its row and kept (a run never changes account): the turn
 * its expressions take on the evaluator. A run that cannot be read (gone, Postgres down) takes a
 * turn of its own rather than fail or wait.
 */
function runAccounts(dataSource: DataSource): (runId: string) => Promise<string> {
  const known = new Map<string, Promise<string>>();
  return (runId) => {
    let account = known.get(runId);
    if (!account) {
      account = (dataSource.query('SELECT account_id FROM runs WHERE id = $1', [runId]) as Promise<{ account_id: string }[]>).then(
        (rows) => rows[0]?.account_id ?? `run:${runId}`,
        () => {
          known.delete(runId);
          return `run:${runId}`;
        },
      );
      known.set(runId, account);
      if (known.size > KNOWN_RUN_ACCOUNTS) known.delete(known.keys().next().value as string);
    }
    return account;
  };
}

export function createActivities({
  dataSource,
  fetch = createEgressFetch(),
  clock = () => new Date(),
  client,
  expressions = new ExpressionEvaluator(),
  inlineOutputBytes = DEFAULT_INLINE_OUTPUT_BYTES,
  publicUrl = 'http://127.0.0.1:3000',
  browsers,
  recordPatienceMs = DEFAULT_RECORD_PATIENCE_MS,
  runLimits = DEFAULT_RUN_LIMITS,
}: ActivityDeps) {
  // Every record an activity writes waits out a Postgres outage rather than failing the step.
  const projections = patient(new Projections(dataSource, clock), recordPatienceMs);
  const accountOf = runAccounts(dataSource);
  const runtime: StepRuntime = { fetch, clock, expressions, accountOf };

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
  const passable = async (call: StepRef, output: unknown): Promise<unknown> => {
    const bytes = Buffer.byteLength(JSON.stringify(output ?? null));
    if (bytes <= inlineOutputBytes) return output;
    await projections.keepOutput(call.runId, call.key, output, bytes);
    const ref: OutputRef = { $outputRef: { runId: call.runId, stepId: call.key, bytes } };
    return ref;
  };

  /** The log line of an attempt's start. */
  const startLine = (call: StepRef, attempt: number, startedAt: Date): LogLine => ({
    key: `step.${call.key}.attempt.${attempt}`,
    level: 'info',
    stepId: call.key,
    message: `step ${call.key} started (attempt ${attempt})`,
    ts: startedAt,
  });

  const running = async (call: StepRef, attempt: number, startedAt: Date) => {
    const row: StepRow = {
      id: call.key,
      position: call.position,
      name: stepName(call.step),
      type: call.step.type,
      status: 'running',
      attempts: attempt,
      startedAt: startedAt.toISOString(),
    };
    await projections.stepStarted(call.runId, row, startLine(call, attempt, startedAt));
  };

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

  /** A browser step's files and records an agent handed back, kept as a platform worker keeps its own (masked again: the agent is not trusted to). */
  const recordPageOfAgent = async (call: RecordedCall, attempt: number, records: AgentPageRecords, redact: <T>(v: T) => T) => {
    if (!browsers) throw ApplicationFailure.nonRetryable('this worker has no artifact store for the files of a browser step', 'BrowserUnavailable');
    const rows: { account_id: string; flow_id: string; public_id: string }[] = await patiently(() => dataSource.query('SELECT account_id, flow_id, public_id FROM runs WHERE id = $1', [call.runId]), recordPatienceMs);
    if (!rows[0]) throw ApplicationFailure.nonRetryable(`run ${call.runId} no longer exists`, RUN_GONE);
    const recorder = platformRecorder({ store: browsers.store, projections, dataSource });
    const { account_id: accountId, flow_id: flowId, public_id: publicRunId } = rows[0];
    await recordHandedBack(recorder, { runId: call.runId, stepKey: call.key, attempt, accountId, flowId, publicRunId }, {
      ...records,
      requests: redact(records.requests),
      lines: redact(records.lines),
      details: redact(records.details),
    });
  };

  const timing = (attempt: number, startedAt: Date, finishedAt: Date) => ({
    attempts: attempt,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
  });

  /** A step's success; \`started\`: its attempt's start line, when the start was not written on its own (\`heldStart\`). */
  const succeeded = async (call: StepRef, fields: Omit<StepRow, 'id' | 'position' | 'name' | 'type' | 'status'>, finishedAt: Date, requests: readonly RunRequest[] = [], started?: LogLine) => {
    const row: StepRow = { id: call.key, position: call.position, name: stepName(call.step), type: call.step.type, status: 'succeeded', error: undefined, ...fields };
    const line: LogLine = { key: `step.${call.key}.succeeded`, level: 'info', stepId: call.key, message: `step ${call.key} succeeded`, ts: finishedAt };
    await projections.stepLogged(call.runId, row, started ? [started, line] : [line], requests);
  };

  /**
   * A run's start: \`always\` from the workflow's own record; \`from-step\` from a step's activity,
   * which does not reopen a run its workflow run has ended (the attempt may run after a cancel).
   */
  const runStarted = async (runId: string, steps: StepRow[], mode: RecordMode): Promise<boolean> => {
    const written = await projections.runStartedWithSteps(runId, Context.current().info.workflowExecution?.runId ?? '', steps, mode === 'from-step');
    if (written) runsStarted.inc();
    return written;
  };

  /** A run's end: \`always\` from the workflow's own record; \`from-step\` only while its workflow run has it open. */
  const runFinished = async (input: RunEnd, mode: RecordMode): Promise<boolean> => {
    const onlyOpenOf = mode === 'from-step' ? (Context.current().info.workflowExecution?.runId ?? '') : undefined;
    if (!(await projections.runFinished(input.runId, input, onlyOpenOf))) return false;
    runsFinished.inc({ status: input.status });
    workerLog.info({ runId: input.runId, status: input.status, ...(input.error ? { failedStep: input.error.step } : {}) }, `run ${input.status}`);
    // Steps the workflow ran itself, and every failed or cancelled one, end here.
    for (const s of input.steps)
      if (s.durationMs !== undefined && (s.status !== 'succeeded' || stepType(s.type)?.runsIn === 'workflow'))
        stepDuration.observe({ type: s.type, status: s.status }, s.durationMs / 1000);
    return true;
  };

  /** What an activity reports of its \`CarriedRunRecords\`: nothing when it recorded neither. */
  const recordedOf = (start?: true, finish?: true): RunRecorded => (start || finish ? { recorded: { ...(start && { start }), ...(finish && { finish }) } } : {});

  const carriedStart = async (call: StepCall): Promise<true | undefined> =>
    call.run?.start && (await runStarted(call.runId, call.run.start, 'from-step')) ? true : undefined;

  /** The run's success, when this step ends it: its outputs are the succeeded steps' of the scope, this one's among them. */
  const carriedFinish = async (call: StepCall, output: unknown, redact: <T>(v: T) => T): Promise<true | undefined> => {
    if (!call.run?.finish) return undefined;
    const outputs = Object.fromEntries(
      Object.entries(call.scope.steps)
        .filter(([id, s]) => id === call.key || s.status === 'succeeded')
        .map(([id, s]) => [id, id === call.key ? output : s.output]),
    );
    return (await runFinished({ runId: call.runId, status: 'succeeded', error: null, outputs: redact(outputs), steps: call.run.finish }, 'from-step')) ? true : undefined;
  };

  const attemptFailed = (call: StepRef, attempt: number, message: string) =>
    projections.log(call.runId, [
      { key: `step.${call.key}.attempt.${attempt}.error`, level: 'warn', stepId: call.key, message: `step ${call.key} attempt ${attempt} failed: ${message}` },
    ]);

  return stoppingWhenRunGone({
    ...createScheduleActivities(client),
    ...createWebhookActivities({ dataSource, fetch, publicUrl }),
    ...createScheduledActivities(dataSource),
    ...createRetentionActivities(dataSource, browsers?.store),
    ...createRunLimitActivities(dataSource, runLimits),
    ...createAgentDispatchActivities({ dataSource, resolveScope: (scope) => resolved(scope) }),

    async recordBatch(input: BatchRunInput): Promise<void> {
      // The gateway wrote the batch and its runs in one transaction before it started the workflow:
      // when the batch row is there, so are its runs, and one read spares the transaction.
      const [found] = await patiently(() => dataSource.query('SELECT 1 FROM batches WHERE id = $1', [input.batchId]), recordPatienceMs);
      if (!found) await dataSource.transaction((m) => insertBatchRows(m, input));
    },

    /** Ids of a large batch's runs at positions [from, to), for its chunk workflow. */
    async batchRunIds(input: { batchId: string; from: number; to: number }): Promise<{ runId: string; publicId: string }[]> {
      return patiently(() => batchRunIds(dataSource, input.batchId, input.from, input.to), recordPatienceMs);
    },

    /** A run of a large batch, given by reference: its flow definitions at the versions it was triggered with. */
    async loadRunInput(ref: FlowRunRef): Promise<FlowRunInput> {
      const input = await patiently(() => runInputOf(dataSource, ref), recordPatienceMs);
      if (!input) throw ApplicationFailure.nonRetryable(`flow ${ref.flowRef.id} version ${ref.flowRef.version} (or its suite's auth flow) no longer exists`, 'FlowNotFound');
      return input;
    },

    /** Runs of a cancelled large batch that its chunks never reached (positions from `from` on, still queued). */
    async recordQueuedRunsCancelled(input: { batchId: string; from: number }): Promise<void> {
      await projections.queuedRunsCancelled(input.batchId, input.from);
    },

    async recordRunStarted(input: { runId: string; steps: StepRow[] }): Promise<void> {
      await runStarted(input.runId, input.steps, 'always');
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

    async recordRunFinished(input: RunEnd): Promise<void> {
      await runFinished(input, 'always');
    },

    async recordRunsCancelled(input: { runIds: string[] }): Promise<void> {
      await projections.runsCancelled(input.runIds);
    },

    /** Evaluates `if` and resolves the config of a step the workflow runs itself (delay, approval). */
    async prepareStep(call: StepCall): Promise<RunRecorded & { skipped: boolean; config: Record<string, unknown> }> {
      const recorded = recordedOf(await carriedStart(call));
      const t = templatingFor(expressions, await resolved(call.scope), call.key, () => accountOf(call.runId));
      if (!(await t.conditionHolds(call.step.if))) return { skipped: true, config: {}, ...recorded };
      const config = (await t.render(call.step.config)) as Record<string, unknown>;
      await running(call, 1, clock());
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
        const start = await carriedStart(call);
        const scope = await resolved(call.scope);
        const browser = await browserFor(call, attempt, ctx.cancellationSignal, redact);
        const result = await heartbeating(() =>
          attemptStep(call, scope, attempt, ctx.cancellationSignal, runtime, {
            started: async (at) => {
              held = heldStart(() => running(call, attempt, at), startLine(call, attempt, at));
            },
            recordRequest: async (row) => void requests.push({ ...row, url: redact(row.url), error: redact(row.error), runId: call.runId, stepId: call.key }),
            ...(browser ? { browser } : {}),
          }),
        );
        if (result.skipped) return { skipped: true, ...recordedOf(start) };
        stepDuration.observe({ type: call.step.type, status: 'succeeded' }, (result.finishedAt.getTime() - result.startedAt.getTime()) / 1000);
        const outcome = { skipped: false as const, output: await passable(call, result.output), ...timing(attempt, result.startedAt, result.finishedAt) };
        await succeeded(call, { ...outcome, output: redact(result.output) }, result.finishedAt, requests, await held?.take());
        requests.length = 0;
        const finish = await carriedFinish(call, outcome.output, redact);
        return { ...outcome, ...recordedOf(start, finish) };
      } catch (caught) {
        const err = runGone(caught);
        const details: StepFailureDetails = { attempts: attempt, startedAt: startedAt.toISOString() };
        const message = redact((err as Error)?.message ?? String(err));
        await held?.write().catch(() => undefined);
        if (requests.length > 0) await projections.requests(requests).catch(() => undefined);
        await attemptFailed(call, attempt, message).catch(() => undefined);
        workerLog.warn({ runId: call.runId, stepId: call.key, stepType: call.step.type, attempt }, `step attempt failed: ${message}`);
        if (err instanceof ApplicationFailure)
          throw ApplicationFailure.create({ message, type: err.type ?? undefined, nonRetryable: err.nonRetryable ?? false, details: [details] });
        throw ApplicationFailure.create({ message, type: 'StepError', details: [details] });
      }
    },

    /**
     * The child run of a `flow` step: the flow's current version, recorded as a run of the account
     * (outside any batch). Its id derives from the parent's and the step's, so a retry finds it.
     */
    async prepareSubFlow(input: { parent: FlowRunInput; stepKey: string; flowId: string; data: unknown }): Promise<FlowRunInput> {
      const { parent, stepKey, flowId } = input;
      const ancestry = [...(parent.ancestry ?? []), parent.flow.id];
      if (ancestry.includes(flowId))
        throw ApplicationFailure.nonRetryable(`flow ${flowId} is already running above this step (${[...ancestry, flowId].join(' → ')}); a flow may not run itself`, 'FlowCycle');
      if (ancestry.length >= MAX_FLOW_DEPTH)
        throw ApplicationFailure.nonRetryable(`sub-flows nest at most ${MAX_FLOW_DEPTH} deep (${[...ancestry, flowId].join(' → ')})`, 'FlowDepth');
      const flow = await dataSource.getRepository(FlowEntity).findOneBy({ accountId: parent.accountId, id: flowId, deletedAt: IsNull() });
      if (!flow) throw ApplicationFailure.nonRetryable(`flow ${flowId} does not exist in this account`, 'FlowNotFound');
      const child: FlowRunInput = {
        runId: derivedId('sub-flow', parent.runId, stepKey),
        batchId: parent.batchId,
        accountId: parent.accountId,
        source: parent.source,
        position: 0,
        flow: flow.definition,
        flowVersion: flow.version,
        variables: flow.definition.variables,
        ...(flow.definition.secrets?.length ? { secrets: flow.definition.secrets } : {}),
        trigger: { body: input.data ?? null },
        ancestry,
        rootRunId: parent.rootRunId ?? parent.runId,
        ...(parent.agent ? { agent: parent.agent } : {}),
      };
      const actor = { id: parent.publicId ?? parent.runId, name: `flow step ${stepKey} of run ${parent.publicId ?? parent.runId}`, type: 'system' as const };
      const meta = { actor, appId: null, buildId: null, browser: null, tags: [], idempotencyKey: null, requestHash: null };
      await dataSource.transaction(async (m) => {
        const bound = runLimits.maxRunDescendants;
        const claim = await claimDescendant(m, child.rootRunId!, child.runId, bound);
        if (!claim.claimed)
          throw ApplicationFailure.nonRetryable(
            `flow ${flowId} not started: ${bound} runs were already started through flow steps under run ${claim.rootPublicId}, the most one run may start (FLOWRUNS_MAX_RUN_DESCENDANTS=${bound})`,
            'FlowDescendants',
          );
        await insertRunRows(m, { accountId: parent.accountId, source: parent.source, meta, runs: [child] }, null);
      });
      return child;
    },

    /** The scope with its large outputs loaded, for a step that runs on an agent (which has no database). */
    async resolveScope(scope: ExpressionScope): Promise<ExpressionScope> {
      return resolved(scope);
    },

    /**
     * Records one attempt an agent made (activities/agent.ts, handed back by \`dispatchToAgent\`) as a platform worker records its own:
     * the step row, its requests and log lines; a large output is kept here and passed on by reference.
     */
    async recordAgentAttempt({ call, attempt, result }: { call: RecordedCall; attempt: number; result: AgentAttempt }): Promise<{ output: unknown }> {
      if (result.status === 'skipped') return { output: null };
      const redact = redactor(call.vars, call.secrets);
      const startedAt = new Date(result.startedAt);
      const finishedAt = new Date(result.finishedAt);
      await running(call, attempt, startedAt);
      await projections.requests(result.requests.map((row) => ({ ...row, ts: new Date(row.ts), url: redact(row.url), error: redact(row.error), runId: call.runId, stepId: call.key })));
      if (result.browser) await recordPageOfAgent(call, attempt, result.browser, redact);
      if (result.status === 'failed') {
        await attemptFailed(call, attempt, redact(result.error));
        return { output: null };
      }
      const output = await passable(call, result.output);
      await succeeded(call, { ...timing(attempt, startedAt, finishedAt), output: redact(result.output) }, finishedAt);
      return { output };
    },
  });
}

/** A run whose rows were deleted under it: its activities fail without retry, and the run stops. */
function runGone(err: unknown): unknown {
  return isMissingRun(err) ? ApplicationFailure.nonRetryable('the run no longer exists (its records were deleted); it stops here', RUN_GONE) : err;
}

/** Every activity of `acts`, with a deleted run's foreign-key errors turned into `RunGone`. */
function stoppingWhenRunGone<T extends Record<string, (...args: never[]) => Promise<unknown>>>(acts: T): T {
  return Object.fromEntries(
    Object.entries(acts).map(([name, fn]) => [
      name,
      async (...args: never[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          throw runGone(err);
        }
      },
    ]),
  ) as T;
}

export type Activities = ReturnType<typeof createActivities>;
