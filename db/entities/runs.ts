/** Tables of runs: `batches` and `runs`. */
import { EntitySchema } from 'typeorm';
import type { Actor, Tag } from '../../domain/flow-types';
import type { RunStatus } from '../../domain/statuses';
import { text, textNull, jsonbNull, jsonbObject, jsonbList, ts, tsNull, int, intNull, type Json } from './columns';

export interface Batch {
  id: string;
  accountId: string;
  source: string;
  actor: Actor | null;
  appId: string | null;
  buildId: string | null;
  browser: string | null;
  variables: Record<string, string>;
  tags: Tag[];
  maxParallel: number;
  idempotencyKey: string | null;
  requestHash: string | null;
  /** The schedule that started it (source `schedule`). */
  scheduleId: string | null;
  createdAt: Date;
}
export interface Run {
  /** Internal id: workflow ids, step, log and request rows use it. */
  id: string;
  /** The id clients see and address the run by, unique within its account (a client may choose it). */
  publicId: string;
  accountId: string;
  batchId: string | null;
  position: number;
  suiteId: string | null;
  flowId: string;
  flowVersion: number | null;
  flowName: string;
  flowType: string;
  status: RunStatus;
  source: string;
  actor: Actor | null;
  appId: string | null;
  buildId: string | null;
  browser: string | null;
  triggerData: Json;
  variables: Record<string, string>;
  tags: Tag[];
  outputs: Json;
  error: { step: string; message: string } | null;
  external: boolean;
  workflowId: string | null;
  workflowRunId: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  createdAt: Date;
  createdBy: string | null;
  updatedAt: Date;
  updatedBy: string | null;
  reviewedAt: Date | null;
  reviewedBy: string | null;
  /** The run this one repeats (public id): a rerun of it, or a resume from its failed step. */
  rerunOf: string | null;
  resumedFrom: string | null;
  /** Succeeded as the rerun or resumption of a failed or timed-out run (kept by a trigger, migration 1734720000000). */
  flaky: boolean;
}

export const BatchEntity = new EntitySchema<Batch>({
  name: 'Batch',
  tableName: 'batches',
  columns: {
    id: { ...text, primary: true },
    accountId: { ...text, name: 'account_id' },
    source: text,
    actor: jsonbNull,
    appId: { ...textNull, name: 'app_id' },
    buildId: { ...textNull, name: 'build_id' },
    browser: textNull,
    variables: jsonbObject,
    tags: jsonbList,
    maxParallel: { ...int, name: 'max_parallel' },
    idempotencyKey: { ...textNull, name: 'idempotency_key' },
    requestHash: { ...textNull, name: 'request_hash' },
    scheduleId: { ...textNull, name: 'schedule_id' },
    createdAt: { ...ts('created_at'), createDate: true },
  },
});

export const RunEntity = new EntitySchema<Run>({
  name: 'Run',
  tableName: 'runs',
  columns: {
    id: { ...text, primary: true },
    publicId: { ...text, name: 'public_id' },
    accountId: { ...text, name: 'account_id' },
    batchId: { ...textNull, name: 'batch_id' },
    position: { ...int, default: 0 },
    suiteId: { ...textNull, name: 'suite_id' },
    flowId: { ...text, name: 'flow_id' },
    flowVersion: { ...intNull, name: 'flow_version' },
    flowName: { ...text, name: 'flow_name' },
    flowType: { ...text, name: 'flow_type', default: 'automation' },
    status: text,
    source: text,
    actor: jsonbNull,
    appId: { ...textNull, name: 'app_id' },
    buildId: { ...textNull, name: 'build_id' },
    browser: textNull,
    triggerData: { ...jsonbNull, name: 'trigger_data' },
    variables: jsonbObject,
    tags: jsonbList,
    outputs: jsonbNull,
    error: jsonbNull,
    external: { type: 'boolean', default: false },
    workflowId: { ...textNull, name: 'workflow_id' },
    workflowRunId: { ...textNull, name: 'workflow_run_id' },
    startedAt: tsNull('started_at'),
    finishedAt: tsNull('finished_at'),
    durationMs: { ...intNull, name: 'duration_ms' },
    createdAt: { ...ts('created_at'), createDate: true },
    createdBy: { ...textNull, name: 'created_by' },
    updatedAt: { ...ts('updated_at'), updateDate: true },
    updatedBy: { ...textNull, name: 'updated_by' },
    reviewedAt: tsNull('reviewed_at'),
    reviewedBy: { ...textNull, name: 'reviewed_by' },
    rerunOf: { ...textNull, name: 'rerun_of' },
    resumedFrom: { ...textNull, name: 'resumed_from' },
    flaky: { type: 'boolean', default: false },
  },
});
