/**
 * The one writer of the run projections (batches, runs, step_runs, run_logs, run_requests), for
 * every process: the worker's activities, the gateway's trigger, runs reported by an outside
 * executor, and read-repair. Writes are keyed (run, step, attempt or log key), so a retried,
 * re-delivered or reset activity overwrites instead of duplicating.
 */
import { In, type DataSource, type EntityManager } from 'typeorm';
import type { BatchRunInput, StepState } from '../domain/flow-types';
import { isOutputRef, type OutputRef } from '../domain/output-refs';
import { maskVariables } from '../domain/secrets';
import { isTerminalRun, RUN_STATUSES, TERMINAL_RUN_STATUSES, TERMINAL_STEP_STATUSES, type RunStatus } from '../domain/statuses';
import { BatchEntity, RunEntity, RunLogEntity, RunRequestEntity, StepRunEntity } from './entities';
import type { Batch, Json, Run, RunLog, RunRequest, StepRun } from './entities';

/** Columns an upsert overwrites, per table; the rest of each row is its key. */
const STEP_COLUMNS = ['position', 'name', 'type', 'status', 'attempts', 'started_at', 'finished_at', 'duration_ms', 'output', 'error'];
const STEP_KEY = ['run_id', 'step_id'];
const LOG_COLUMNS = ['ts', 'level', 'step_id', 'message'];
const LOG_KEY = ['run_id', 'key'];
const REQUEST_COLUMNS = ['ts', 'method', 'url', 'status', 'resource_type', 'duration_ms', 'response_size', 'error'];
const REQUEST_KEY = ['run_id', 'step_id', 'attempt', 'seq'];

/** A file of a run in the artifact store, as `run_artifacts` lists it. */
export interface ArtifactRow {
  runId: string;
  stepId: string;
  /** Unique in the step: `home.png`, `home.diff.png`, `page.html`. */
  name: string;
  kind: 'screenshot' | 'diff' | 'html';
  storageKey: string;
  contentType: string;
  bytes: number;
  meta?: Record<string, unknown>;
}

/** duration_ms is an integer column: a run started (as a client reported it) decades ago is capped, not an error. */
const MAX_INT = 2_147_483_647;

/** Rows per INSERT: well under Postgres' 65,535 parameters for every table. */
const CHUNK = 500;
const OPEN_RUN_STATUSES = RUN_STATUSES.filter((s) => !isTerminalRun(s));
/** The open statuses as a SQL list. */
const OPEN_SQL = OPEN_RUN_STATUSES.map((s) => `'${s}'`).join(', ');
/** A JSON value as a \`jsonb\` parameter; null and undefined as SQL NULL, as TypeORM writes them. */
const jsonOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

/** A step as recorded; times are ISO strings, as the workflow keeps them. */
export interface StepRow extends Omit<StepState, 'type'> {
  type: string;
  position: number;
}

export interface LogLine {
  key: string;
  level: RunLog['level'];
  stepId?: string | null;
  message: string;
  ts?: Date;
  /** `console` for a page's console lines. */
  source?: string;
}

/** How a run ended, as read-repair learns it from Temporal. */
export interface RunOutcome {
  status: RunStatus;
  /** `step` null: the step in flight is named. */
  error: { step: string | null; message: string } | null;
  finishedAt: Date;
  workflowRunId: string;
}

/** A run an outside executor reports: the run's fields, and its steps and log when sent (each replacing what was stored). */
export interface ExternalRun {
  id: string;
  fields: Partial<Run>;
  steps?: StepRow[];
  logs?: LogLine[];
}

const toDate = (iso?: string | null): Date | null => (iso ? new Date(iso) : null);

const stepRecord = (runId: string, s: StepRow): Partial<StepRun> => ({
  runId,
  stepId: s.id,
  position: s.position,
  name: s.name,
  type: s.type,
  status: s.status,
  attempts: s.attempts,
  startedAt: toDate(s.startedAt),
  finishedAt: toDate(s.finishedAt),
  durationMs: s.durationMs ?? null,
  output: (s.output ?? null) as Json,
  error: s.error ?? null,
});

/** A step row's parameters $1–$12 of \`STEP_LOGGED_SQL\` and \`STEP_STARTED_SQL\`. */
const stepParams = (r: Partial<StepRun>): unknown[] => [
  r.runId, r.stepId, r.position, r.name, r.type, r.status, r.attempts, r.startedAt, r.finishedAt, r.durationMs, JSON.stringify(r.output ?? null), r.error,
];

const logRecord = (runId: string, l: LogLine, now: Date): RunLog => ({
  runId,
  key: l.key,
  ts: l.ts ?? now,
  level: l.level,
  stepId: l.stepId ?? null,
  message: l.message,
  source: l.source ?? null,
});

/** The request rows \`Projections.stepLogged\` writes with a step's end, as a CTE over arrays $19–$28 (upserted as \`requests\` does). */
const REQUESTS_CTE = `,
  requests AS (
    INSERT INTO run_requests (run_id, step_id, attempt, seq, ts, method, url, status, resource_type, duration_ms, response_size, error)
    SELECT $1, $2, r.attempt, r.seq, r.ts, r.method, r.url, r.status, r.resource_type, r.duration_ms, r.response_size, r.error
      FROM unnest($19::int[], $20::int[], $21::timestamptz[], $22::text[], $23::text[], $24::int[], $25::text[], $26::int[], $27::int[], $28::text[])
        AS r (attempt, seq, ts, method, url, status, resource_type, duration_ms, response_size, error)
    ON CONFLICT (${REQUEST_KEY.join(', ')}) DO UPDATE SET ${REQUEST_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')})`;

type StepLoggedVariant = `${'all' | 'keepOutput'}${'' | '+requests'}`;

/**
 * \`Projections.stepLogged\`'s statement, overwriting the output or (a step whose output is a reference)
 * keeping it, with or without the attempt's requests.
 */
const STEP_LOGGED_SQL = Object.fromEntries(
  (['all', 'keepOutput'] as const).flatMap((k) => {
    const columns = k === 'all' ? STEP_COLUMNS : STEP_COLUMNS.filter((c) => c !== 'output');
    return (['', '+requests'] as const).map((r) => [
      `${k}${r}`,
      `WITH step AS (
         INSERT INTO step_runs (run_id, step_id, position, name, type, status, attempts, started_at, finished_at, duration_ms, output, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12)
         ON CONFLICT (${STEP_KEY.join(', ')}) DO UPDATE SET ${columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')})${r ? REQUESTS_CTE : ''}
       INSERT INTO run_logs (run_id, key, ts, level, step_id, message, source)
       SELECT $1, l.key, l.ts, l.level, l.step_id, l.message, l.source
         FROM unnest($13::text[], $14::timestamptz[], $15::text[], $16::text[], $17::text[], $18::text[]) AS l (key, ts, level, step_id, message, source)
       ON CONFLICT DO NOTHING`,
    ]);
  }),
) as Record<StepLoggedVariant, string>;

/**
 * \`Projections.stepStarted\`'s statement: the step's row ($1–$12, as \`STEP_LOGGED_SQL\`) and a log
 * line ($13–$18), both only while the run is open ($19: the terminal run statuses), and the row never
 * over one that has ended ($20: the terminal step statuses). The second guard is the one races need: a
 * workflow's run end writes its steps before the run's row (\`runFinished\`), and the run check reads
 * the statement's snapshot, so a start can find the run open after its steps ended; the row an
 * update would overwrite is read as committed.
 */
const STEP_STARTED_SQL = `WITH open AS (SELECT 1 FROM runs WHERE id = $1 AND status <> ALL($19::text[])),
  step AS (
    INSERT INTO step_runs (run_id, step_id, position, name, type, status, attempts, started_at, finished_at, duration_ms, output, error)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12 FROM open
    ON CONFLICT (${STEP_KEY.join(', ')}) DO UPDATE SET ${STEP_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
    WHERE step_runs.status <> ALL($20::text[]))
  INSERT INTO run_logs (run_id, key, ts, level, step_id, message, source) SELECT $1, $13, $14, $15, $16, $17, $18 FROM open
  ON CONFLICT DO NOTHING`;

async function inChunks<T>(rows: readonly T[], write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await write(rows.slice(i, i + CHUNK));
}

/**
 * Writes a batch and its runs. The gateway calls it when it accepts a trigger and the batch
 * workflow calls it again first thing, so the rows exist even if the gateway died between
 * starting the workflow and committing; both inserts are no-ops when the rows are there.
 */
export async function insertBatchRows(manager: EntityManager, input: BatchRunInput): Promise<void> {
  const { meta } = input;
  const batch: Partial<Batch> = {
    id: input.batchId,
    accountId: input.accountId,
    source: input.source,
    actor: meta.actor,
    appId: meta.appId,
    buildId: meta.buildId,
    browser: meta.browser,
    variables: {},
    tags: meta.tags,
    maxParallel: input.maxParallel,
    idempotencyKey: meta.idempotencyKey,
    requestHash: meta.requestHash,
    scheduleId: meta.scheduleId ?? null,
  };
  await manager.createQueryBuilder().insert().into(BatchEntity).values(batch).orIgnore().execute();
  await insertRunRows(manager, input, input.batchId);
}

/** Writes runs (no-ops when they exist); `batchId` null for runs outside any batch (a sub-flow's). */
export async function insertRunRows(manager: EntityManager, input: Pick<BatchRunInput, 'accountId' | 'source' | 'meta' | 'runs'>, batchId: string | null): Promise<void> {
  const { meta } = input;
  const runs: Partial<Run>[] = input.runs.map((r) => ({
    id: r.runId,
    publicId: r.publicId ?? r.runId,
    accountId: input.accountId,
    batchId,
    position: r.position,
    suiteId: r.suiteId ?? null,
    flowId: r.flow.id,
    flowVersion: r.flowVersion,
    flowName: r.flow.name,
    flowType: r.flow.type,
    status: 'queued',
    source: input.source,
    actor: meta.actor,
    appId: meta.appId,
    buildId: meta.buildId,
    browser: meta.browser,
    triggerData: (r.trigger.body ?? null) as Json,
    variables: maskVariables(r.variables, r.secrets),
    tags: meta.tags,
    external: false,
    workflowId: `run-${r.runId}`,
    rerunOf: r.rerunOf ?? null,
    resumedFrom: r.resumedFrom ?? null,
    createdBy: meta.actor?.id ?? null,
    updatedBy: meta.actor?.id ?? null,
  }));
  await inChunks(runs, (chunk) => manager.createQueryBuilder().insert().into(RunEntity).values(chunk).orIgnore().execute());
}

export class Projections {
  constructor(
    private readonly db: DataSource,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Steps whose output is a reference to a large output keep the output already recorded (the
   * activity wrote it whole, masked); the others are written as they are.
   */
  async upsertSteps(runId: string, steps: StepRow[], manager: EntityManager = this.db.manager): Promise<void> {
    const byRef = steps.filter((s) => isOutputRef(s.output));
    if (byRef.length === 0) return this.writeSteps(runId, steps, STEP_COLUMNS, manager);
    await this.writeSteps(runId, steps.filter((s) => !isOutputRef(s.output)), STEP_COLUMNS, manager);
    await this.writeSteps(runId, byRef, STEP_COLUMNS.filter((c) => c !== 'output'), manager);
  }

  /**
   * One step's row and its log lines in a single statement: how an activity step records its end,
   * with its start line when the step ended before its start was written (activities/index.ts
   * \`START_RECORD_DELAY_MS\`, else \`stepStarted\`) and the attempt's requests (\`requests\`, all of
   * this run and step). Upserted and logged as \`upsertSteps\`, \`log\` and \`requests\` do.
   */
  async stepLogged(runId: string, step: StepRow, lines: readonly LogLine[], requests: readonly RunRequest[] = []): Promise<void> {
    const now = this.clock();
    const l = lines.map((line) => logRecord(runId, line, now));
    const variant: StepLoggedVariant = `${isOutputRef(step.output) ? 'keepOutput' : 'all'}${requests.length > 0 ? '+requests' : ''}`;
    await this.db.query(STEP_LOGGED_SQL[variant], [
      ...stepParams(stepRecord(runId, step)),
      l.map((x) => x.key), l.map((x) => x.ts), l.map((x) => x.level), l.map((x) => x.stepId), l.map((x) => x.message), l.map((x) => x.source),
      ...(requests.length > 0
        ? [
            requests.map((q) => q.attempt), requests.map((q) => q.seq ?? 0), requests.map((q) => q.ts), requests.map((q) => q.method), requests.map((q) => q.url),
            requests.map((q) => q.status), requests.map((q) => q.resourceType), requests.map((q) => q.durationMs), requests.map((q) => q.responseSize), requests.map((q) => q.error),
          ]
        : []),
    ]);
  }

  /**
   * An attempt's start: the step's row (running), and \`line\`, in one statement; nothing once the
   * run has ended (an attempt whose start was held back can outlive its run's cancellation), and the
   * row not over an ended step (a reset's new attempt shows running from the workflow's live state
   * until its end is written).
   */
  async stepStarted(runId: string, step: StepRow, line: LogLine): Promise<void> {
    const l = logRecord(runId, line, this.clock());
    await this.db.query(STEP_STARTED_SQL, [
      ...stepParams(stepRecord(runId, step)),
      l.key, l.ts, l.level, l.stepId, l.message, l.source,
      TERMINAL_RUN_STATUSES,
      TERMINAL_STEP_STATUSES,
    ]);
  }

  /** Keeps a large output whole, for later steps to read through its reference. */
  async keepOutput(runId: string, stepId: string, output: unknown, bytes: number): Promise<void> {
    await this.db.query(
      `INSERT INTO step_outputs (run_id, step_id, output, bytes) VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (run_id, step_id) DO UPDATE SET output = EXCLUDED.output, bytes = EXCLUDED.bytes`,
      [runId, stepId, JSON.stringify(output ?? null), bytes],
    );
  }

  /** The outputs behind references, keyed `runId\nstepId`. */
  async loadOutputs(refs: readonly OutputRef[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    if (refs.length === 0) return out;
    const rows: { run_id: string; step_id: string; output: unknown }[] = await this.db.query(
      `SELECT run_id, step_id, output FROM step_outputs WHERE (run_id, step_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [refs.map((r) => r.$outputRef.runId), refs.map((r) => r.$outputRef.stepId)],
    );
    for (const r of rows) out.set(`${r.run_id}\n${r.step_id}`, r.output);
    return out;
  }

  private async writeSteps(runId: string, steps: StepRow[], columns: string[], manager: EntityManager): Promise<void> {
    await inChunks(steps, (chunk) =>
      manager
        .createQueryBuilder()
        .insert()
        .into(StepRunEntity)
        .values(chunk.map((s) => stepRecord(runId, s)))
        .orUpdate(columns, STEP_KEY)
        .execute(),
    );
  }

  /** Appends log lines; a line whose key is already there is kept as first written. */
  async log(runId: string, lines: LogLine[], manager: EntityManager = this.db.manager): Promise<void> {
    const now = this.clock();
    await inChunks(lines, (chunk) =>
      manager
        .createQueryBuilder()
        .insert()
        .into(RunLogEntity)
        .values(chunk.map((l) => logRecord(runId, l, now)))
        .orIgnore()
        .execute(),
    );
  }

  /** A page's requests, in multi-row inserts; a retried attempt's rows replace the earlier ones. */
  async requests(rows: RunRequest[]): Promise<void> {
    await inChunks(rows, (chunk) =>
      this.db.createQueryBuilder().insert().into(RunRequestEntity).values(chunk).orUpdate(REQUEST_COLUMNS, REQUEST_KEY).execute(),
    );
  }

  /** What a browser or scan step did, action by action; written whether the attempt passed or not. */
  async stepDetails(runId: string, stepId: string, details: unknown): Promise<void> {
    await this.db.query(`UPDATE step_runs SET details = $3::jsonb WHERE run_id = $1 AND step_id = $2`, [runId, stepId, JSON.stringify(details)]);
  }

  /** Lists a file a step put in the artifact store (the same name again replaces it: the last attempt's wins). */
  async artifact(a: ArtifactRow): Promise<void> {
    await this.db.query(
      `INSERT INTO run_artifacts (run_id, step_id, name, kind, storage_key, content_type, bytes, meta) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
       ON CONFLICT (run_id, step_id, name) DO UPDATE SET kind = EXCLUDED.kind, storage_key = EXCLUDED.storage_key,
         content_type = EXCLUDED.content_type, bytes = EXCLUDED.bytes, meta = EXCLUDED.meta, created_at = now()`,
      [a.runId, a.stepId, a.name, a.kind, a.storageKey, a.contentType, a.bytes, JSON.stringify(a.meta ?? null)],
    );
  }

  /**
   * A run's start in one statement: the row is marked running under its workflow run, its step
   * list seeded as \`queued\` (rows already there are left alone) and \`run.started\` logged once.
   * \`fromStep\` (a step's activity records it for its workflow): a waiting run stays waiting, and a
   * run its workflow run has already ended is left as it is (the attempt ran after a cancel); a reset
   * (another workflow run) reopens it as the workflow's own record does. True when the row was marked.
   */
  async runStartedWithSteps(runId: string, workflowRunId: string, steps: StepRow[], fromStep = false): Promise<boolean> {
    const now = this.clock();
    const status = fromStep ? `CASE WHEN status IN ('running', 'waiting') THEN status ELSE 'running' END` : `'running'`;
    const guard = fromStep ? ` AND (status IN (${OPEN_SQL}) OR workflow_run_id IS DISTINCT FROM $2)` : '';
    const [marked] = (await this.db.query(
      `WITH run AS (
         UPDATE runs SET status = ${status}, workflow_run_id = $2, started_at = COALESCE(started_at, $3), updated_at = $3 WHERE id = $1${guard} RETURNING 1),
       steps AS (
         INSERT INTO step_runs (run_id, step_id, position, name, type, status, attempts)
         SELECT $1, s.id, s.position, s.name, s.type, s.status, 0 FROM unnest($4::text[], $5::int[], $6::text[], $7::text[], $8::text[]) AS s (id, position, name, type, status)
         ON CONFLICT DO NOTHING),
       log AS (
         INSERT INTO run_logs (run_id, key, ts, level, message) VALUES ($1, 'run.started', $3, 'info', 'run started')
         ON CONFLICT DO NOTHING)
       SELECT count(*)::int AS n FROM run`,
      [runId, workflowRunId, now, steps.map((s) => s.id), steps.map((s) => s.position), steps.map((s) => s.name), steps.map((s) => s.type), steps.map((s) => s.status)],
    )) as { n: number }[];
    return (marked?.n ?? 0) > 0;
  }

  async runStatus(runId: string, status: 'running' | 'waiting'): Promise<void> {
    await this.db
      .createQueryBuilder()
      .update(RunEntity)
      .set({ status, updatedAt: this.clock() })
      .where('id = :runId AND status IN (:...open)', { runId, open: OPEN_RUN_STATUSES })
      .execute();
  }

  /**
   * A run's end: the steps given, then its row, \`run.finished\` and, when it was the batch's last
   * open run, \`batch.finished\` in one statement (\`flowruns_run_finished\`, migration
   * 1734000000000). With \`onlyOpenOf\` (a step's activity records it for its workflow run) nothing is
   * written unless the row is still open under that workflow run, and the steps only after: the
   * workflow's own record, which always writes, then stands. True when the row was written.
   */
  async runFinished(
    runId: string,
    result: { status: RunStatus; error: { step: string; message: string } | null; outputs: unknown; steps: StepRow[] },
    onlyOpenOf?: string,
  ): Promise<boolean> {
    const now = this.clock();
    // Steps first, so a run whose rows were deleted fails on their foreign key (RunGone).
    if (onlyOpenOf === undefined) await this.upsertSteps(runId, result.steps);
    const outputs = await this.outputsRecorded(runId, result.outputs);
    const message = `run ${result.status}${result.error ? `: ${result.error.step}: ${result.error.message}` : ''}`;
    const [ended] = (await this.db.query(`SELECT flowruns_run_finished($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7) AS written`, [
      runId,
      result.status,
      jsonOrNull(result.error),
      jsonOrNull(outputs),
      now,
      message,
      onlyOpenOf ?? null,
    ])) as { written: boolean }[];
    if (!ended?.written) return false;
    if (onlyOpenOf !== undefined) await this.upsertSteps(runId, result.steps);
    return true;
  }

  /** Logs \`batch.finished\` on the run that ended its batch (\`flowruns_batch_finished_if_last\`: under the batch row's lock, once). */
  private async batchFinishedIfLast(m: EntityManager, runId: string): Promise<void> {
    await m.query(`SELECT flowruns_batch_finished_if_last($1, NULL)`, [runId]);
  }

  /** A run's outputs with each large-output reference replaced by the step's recorded (masked) output. */
  private async outputsRecorded(runId: string, outputs: unknown): Promise<unknown> {
    if (!outputs || typeof outputs !== 'object') return outputs;
    const entries = Object.entries(outputs as Record<string, unknown>);
    const refs = entries.filter(([, v]) => isOutputRef(v)).map(([k]) => k);
    if (refs.length === 0) return outputs;
    const rows = await this.db.getRepository(StepRunEntity).find({ where: { runId, stepId: In(refs) }, select: { stepId: true, output: true } });
    const recorded = new Map(rows.map((r) => [r.stepId, r.output]));
    return Object.fromEntries(entries.map(([k, v]) => [k, isOutputRef(v) ? (recorded.get(k) ?? null) : v]));
  }

  /** Runs of a cancelled batch still queued at positions from `from` on (a large batch's chunks never reached them). */
  async queuedRunsCancelled(batchId: string, from: number): Promise<void> {
    const rows: { id: string }[] = await this.db.query(`SELECT id FROM runs WHERE batch_id = $1 AND position >= $2 AND status = 'queued' ORDER BY position`, [batchId, from]);
    await inChunks(rows.map((r) => r.id), (runIds) => this.runsCancelled(runIds));
  }

  /** Runs of a cancelled batch that never started. */
  async runsCancelled(runIds: string[]): Promise<void> {
    if (runIds.length === 0) return;
    const now = this.clock();
    await this.db.transaction(async (m) => {
      await m
        .createQueryBuilder()
        .update(RunEntity)
        .set({ status: 'cancelled', finishedAt: now, updatedAt: now })
        .where('id IN (:...runIds) AND status IN (:...open)', { runIds, open: OPEN_RUN_STATUSES })
        .execute();
      for (const runId of runIds) await this.log(runId, [{ key: 'run.finished', level: 'error', message: 'run cancelled before it started', ts: now }], m);
      await this.batchFinishedIfLast(m, runIds[0]!);
    });
  }

  /**
   * Creates (`existing` false) or updates a run an outside executor reports; its steps and log,
   * when sent, replace what was stored, and its `error` names its first failed step. False when
   * the run was created meanwhile by someone else, so nothing was written.
   */
  async externalRun(m: EntityManager, run: ExternalRun, existing: boolean): Promise<boolean> {
    if (existing) await m.getRepository(RunEntity).update({ id: run.id }, run.fields);
    else {
      const inserted = await m.createQueryBuilder().insert().into(RunEntity).values({ ...run.fields, id: run.id }).orIgnore().execute();
      if ((inserted.raw as unknown[]).length === 0) return false;
    }
    if (run.steps) await this.replaceSteps(m, run.id, run.steps);
    if (run.logs) await this.replaceLogs(m, run.id, run.logs);
    const status = run.fields.status;
    const failed = status === 'failed' || status === 'timed_out' ? await firstFailedStep(m, run.id) : null;
    const error = failed ? { step: failed.name, message: failed.error ?? `step ${status}` } : null;
    await m.getRepository(RunEntity).update({ id: run.id }, { error: error as Json });
    return true;
  }

  /** The run's steps become `steps`, position by position; a step no longer listed is removed. */
  private async replaceSteps(m: EntityManager, runId: string, steps: StepRow[]): Promise<void> {
    await m.query('DELETE FROM step_runs WHERE run_id = $1 AND NOT (step_id = ANY($2::text[]))', [runId, steps.map((s) => s.id)]);
    await this.upsertSteps(runId, steps, m);
  }

  /** The run's log becomes `lines`: same keys overwrite, other keys are removed. */
  private async replaceLogs(m: EntityManager, runId: string, lines: LogLine[]): Promise<void> {
    await m.query('DELETE FROM run_logs WHERE run_id = $1 AND NOT (key = ANY($2::text[]))', [runId, lines.map((l) => l.key)]);
    const now = this.clock();
    await inChunks(lines, (chunk) =>
      m
        .createQueryBuilder()
        .insert()
        .into(RunLogEntity)
        .values(chunk.map((l) => logRecord(runId, l, now)))
        .orUpdate(LOG_COLUMNS, LOG_KEY)
        .execute(),
    );
  }

  async runTagged(runId: string, tags: Run['tags'], updatedBy: string): Promise<void> {
    await this.db.getRepository(RunEntity).update({ id: runId }, { tags, updatedAt: this.clock(), updatedBy });
  }

  async runReviewed(runId: string, reviewedBy: string, reviewedAt: Date, updatedBy: string): Promise<void> {
    await this.db.getRepository(RunEntity).update({ id: runId }, { reviewedBy, reviewedAt, updatedBy });
  }

  /**
   * Read-repair: writes how the workflow ended and closes the steps left open, in one
   * transaction. The update is conditional, so a projection written meanwhile by the run's own
   * activity is not overwritten; `onlyIfQueued` limits it to a run that never started.
   * Answers the row as it now is.
   */
  async runCorrected(runId: string, o: RunOutcome, onlyIfQueued: boolean): Promise<Run | null> {
    return this.db.transaction(async (m) => {
      const overwritable = onlyIfQueued ? ['queued'] : OPEN_RUN_STATUSES;
      // TypeORM answers an UPDATE with [rows, rowCount].
      const [, changed]: [unknown[], number] = await m.query(
        `UPDATE runs SET
            status = $2,
            error = CASE WHEN $3::text IS NULL THEN NULL ELSE jsonb_build_object(
              'step', coalesce($4::text,
                (SELECT s.name FROM step_runs s WHERE s.run_id = runs.id AND s.status IN ('running', 'waiting')
                  ORDER BY s.position LIMIT 1), ''),
              'message', $3::text) END,
            finished_at = $5,
            duration_ms = CASE WHEN started_at IS NULL THEN NULL
                               ELSE LEAST(GREATEST(0, EXTRACT(EPOCH FROM ($5::timestamptz - started_at)) * 1000), ${MAX_INT})::int END,
            workflow_run_id = coalesce(nullif($6, ''), workflow_run_id),
            updated_at = now(),
            updated_by = 'temporal'
          WHERE id = $1 AND (status = ANY($7::text[]) OR ($8::boolean AND workflow_run_id IS DISTINCT FROM nullif($6, '')))
          RETURNING id`,
        [runId, o.status, o.error?.message ?? null, o.error?.step ?? null, o.finishedAt, o.workflowRunId, overwritable, !onlyIfQueued],
      );
      if (changed > 0) {
        await m.query(
          `UPDATE step_runs SET status = 'cancelled', finished_at = coalesce(finished_at, $2)
            WHERE run_id = $1 AND status <> ALL($3::text[])`,
          [runId, o.finishedAt, TERMINAL_STEP_STATUSES],
        );
        const message = `run ${o.status}${o.error?.message ? `: ${o.error.message}` : ''}`;
        await this.log(runId, [{ key: 'run.finished', level: o.status === 'succeeded' ? 'info' : 'error', message, ts: o.finishedAt }], m);
        await this.batchFinishedIfLast(m, runId);
      }
      return m.getRepository(RunEntity).findOneBy({ id: runId });
    });
  }

  /** Read-repair after a reset started a new workflow run: the run is open again, whatever the row said. */
  async runReopened(runId: string, workflowRunId: string): Promise<Run | null> {
    await this.db.query(
      `UPDATE runs SET status = 'running', workflow_run_id = $2, finished_at = NULL, duration_ms = NULL, error = NULL,
              updated_at = now(), updated_by = 'temporal'
        WHERE id = $1 AND workflow_run_id IS DISTINCT FROM $2`,
      [runId, workflowRunId],
    );
    return this.db.getRepository(RunEntity).findOneBy({ id: runId });
  }

  /** Deletes the run (steps, logs and requests cascade) and its batch when left empty; false when it was gone. */
  async runDeleted(run: Pick<Run, 'id' | 'accountId' | 'batchId'>): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const res = await m.getRepository(RunEntity).delete({ id: run.id, accountId: run.accountId });
      if (run.batchId)
        await m
          .createQueryBuilder()
          .delete()
          .from(BatchEntity)
          .where('id = :batchId AND NOT EXISTS (SELECT 1 FROM runs WHERE batch_id = :batchId)', { batchId: run.batchId })
          .execute();
      return (res.affected ?? 0) > 0;
    });
  }
}

/** The first failed step of a run, which the run's `error` names. */
async function firstFailedStep(m: EntityManager, runId: string): Promise<{ name: string; error: string | null } | null> {
  const rows: { name: string; error: string | null }[] = await m.query(
    `SELECT name, error FROM step_runs WHERE run_id = $1 AND status = 'failed' ORDER BY position, step_id LIMIT 1`,
    [runId],
  );
  return rows[0] ?? null;
}
