/** Tables of what a run's steps record: `step_runs`, `run_logs`, `run_requests`, `step_outputs`, `run_artifacts`. */
import { EntitySchema } from 'typeorm';
import type { StepStatus } from '../../domain/statuses';
import type { RequestRecord } from '../../steps/step-type';
import { text, textNull, jsonbNull, ts, tsNull, tsFull, int, intNull, bigserial, type Json } from './columns';

export interface StepRun {
  runId: string;
  stepId: string;
  position: number;
  name: string;
  type: string;
  status: StepStatus;
  attempts: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  output: Json;
  error: string | null;
  /** What a browser or scan step did, action by action (steps/browser.ts `BrowserDetails`). */
  details?: Json;
}
export interface RunLog {
  runId: string;
  key: string;
  ts: Date;
  level: 'debug' | 'info' | 'warn' | 'error';
  stepId: string | null;
  message: string;
  /** `console` for a page's console lines; null for the platform's own. */
  source?: string | null;
  /**
   * A platform-wide `bigserial` and the time the line was written (`DEFAULT clock_timestamp()`),
   * both the database's (migration 1733500000000), so the live event streams resume after an event
   * id; read with SQL only (db/run-logs.ts), so `select: false`: loading log lines never loads them.
   */
  seq?: string;
  insertedAt?: Date;
}
/** One HTTP exchange of a step attempt, as the step records it (steps/step-type.ts). */
export interface RunRequest extends RequestRecord {
  runId: string;
  stepId: string;
}
/** A step output too large for a Temporal payload, kept whole (unmasked) for the steps that read it (migration 1732650000000). */
export interface StepOutput {
  runId: string;
  stepId: string;
  output: Json;
  bytes: number;
}
/** A file of a run in the artifact store (screenshots, diffs, pages), listed per step (migration 1733700000000). */
export interface RunArtifact {
  runId: string;
  stepId: string;
  /** Unique in the step: `home.png`, `home.diff.png`, `page.html`. */
  name: string;
  kind: string;
  storageKey: string;
  contentType: string;
  bytes: number;
  meta: Json;
  createdAt: Date;
}

export const StepRunEntity = new EntitySchema<StepRun>({
  name: 'StepRun',
  tableName: 'step_runs',
  columns: {
    runId: { ...text, name: 'run_id', primary: true },
    stepId: { ...text, name: 'step_id', primary: true },
    position: int,
    name: text,
    type: text,
    status: text,
    attempts: { ...int, default: 0 },
    startedAt: tsNull('started_at'),
    finishedAt: tsNull('finished_at'),
    durationMs: { ...intNull, name: 'duration_ms' },
    output: jsonbNull,
    error: textNull,
    details: jsonbNull,
  },
});

export const RunLogEntity = new EntitySchema<RunLog>({
  name: 'RunLog',
  tableName: 'run_logs',
  columns: {
    runId: { ...text, name: 'run_id', primary: true },
    key: { ...text, primary: true },
    ts: ts('ts'),
    level: text,
    stepId: { ...textNull, name: 'step_id' },
    message: text,
    source: textNull,
    seq: { ...bigserial, select: false },
    insertedAt: { ...tsFull('inserted_at'), default: () => 'clock_timestamp()', select: false },
  },
});

export const RunRequestEntity = new EntitySchema<RunRequest>({
  name: 'RunRequest',
  tableName: 'run_requests',
  columns: {
    runId: { ...text, name: 'run_id', primary: true },
    stepId: { ...text, name: 'step_id', primary: true },
    attempt: { ...int, primary: true },
    seq: { ...int, primary: true, default: 0 },
    ts: ts('ts'),
    method: text,
    url: text,
    status: int,
    resourceType: { ...text, name: 'resource_type' },
    durationMs: { ...int, name: 'duration_ms' },
    responseSize: { ...int, name: 'response_size' },
    error: textNull,
  },
});

export const StepOutputEntity = new EntitySchema<StepOutput>({
  name: 'StepOutput',
  tableName: 'step_outputs',
  columns: {
    runId: { ...text, name: 'run_id', primary: true },
    stepId: { ...text, name: 'step_id', primary: true },
    output: jsonbNull,
    bytes: int,
  },
});

export const RunArtifactEntity = new EntitySchema<RunArtifact>({
  name: 'RunArtifact',
  tableName: 'run_artifacts',
  columns: {
    runId: { ...text, name: 'run_id', primary: true },
    stepId: { ...text, name: 'step_id', primary: true },
    name: { ...text, primary: true },
    kind: text,
    storageKey: { ...text, name: 'storage_key' },
    contentType: { ...text, name: 'content_type' },
    bytes: int,
    meta: jsonbNull,
    createdAt: { ...ts('created_at'), createDate: true },
  },
});
