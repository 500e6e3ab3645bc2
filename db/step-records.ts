/**
 * The step records of runs: `step_runs`, `run_logs`, `run_requests`, `step_outputs` and
 * `run_artifacts`. Writes are keyed (run, step, attempt or log key), so a retried, re-delivered or
 * reset activity overwrites instead of duplicating. `Projections` (db/projections.ts) adds the
 * runs and batches on top; everyone writes through it.
 */
import type { DataSource, EntityManager } from 'typeorm';
import type { StepState } from '../domain/flow-types';
import { isOutputRef, type OutputRef } from '../domain/output-refs';
import { TERMINAL_RUN_STATUSES, TERMINAL_STEP_STATUSES } from '../domain/statuses';
import { RunLogEntity, RunRequestEntity, StepRunEntity } from './entities';
import type { Json, RunLog, RunRequest, StepRun } from './entities';

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
  /** Unique in the step: `home.png`, `home.diff.png`, `page.html`, `trace.zip`. */
  name: string;
  kind: 'screenshot' | 'diff' | 'html' | 'trace';
  storageKey: string;
  contentType: string;
  bytes: number;
  meta?: Record<string, unknown>;
}

/** Rows per INSERT: well under Postgres' 65,535 parameters for every table. */
const CHUNK = 500;

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

export async function inChunks<T>(rows: readonly T[], write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await write(rows.slice(i, i + CHUNK));
}

export class StepRecords {
  constructor(
    protected readonly db: DataSource,
    protected readonly clock: () => Date = () => new Date(),
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
        .updateEntity(false)
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
        .updateEntity(false)
        .execute(),
    );
  }

  /** A page's requests, in multi-row inserts; a retried attempt's rows replace the earlier ones. */
  async requests(rows: RunRequest[]): Promise<void> {
    await inChunks(rows, (chunk) =>
      this.db.createQueryBuilder().insert().into(RunRequestEntity).values(chunk).orUpdate(REQUEST_COLUMNS, REQUEST_KEY).updateEntity(false).execute(),
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

  /** The run's steps become `steps`, position by position; a step no longer listed is removed. */
  protected async replaceSteps(m: EntityManager, runId: string, steps: StepRow[]): Promise<void> {
    await m.query('DELETE FROM step_runs WHERE run_id = $1 AND NOT (step_id = ANY($2::text[]))', [runId, steps.map((s) => s.id)]);
    await this.upsertSteps(runId, steps, m);
  }

  /** The run's log becomes `lines`: same keys overwrite, other keys are removed. */
  protected async replaceLogs(m: EntityManager, runId: string, lines: LogLine[]): Promise<void> {
    await m.query('DELETE FROM run_logs WHERE run_id = $1 AND NOT (key = ANY($2::text[]))', [runId, lines.map((l) => l.key)]);
    const now = this.clock();
    await inChunks(lines, (chunk) =>
      m
        .createQueryBuilder()
        .insert()
        .into(RunLogEntity)
        .values(chunk.map((l) => logRecord(runId, l, now)))
        .orUpdate(LOG_COLUMNS, LOG_KEY)
        .updateEntity(false)
        .execute(),
    );
  }
}

/** The sizes (JSON bytes) of a run's outputs kept whole in `step_outputs`, by step. */
export async function keptOutputSizes(db: DataSource | EntityManager, runId: string): Promise<Map<string, number>> {
  const rows: { step_id: string; bytes: number }[] = await db.query('SELECT step_id, bytes FROM step_outputs WHERE run_id = $1', [runId]);
  return new Map(rows.map((r) => [r.step_id, Number(r.bytes)]));
}
