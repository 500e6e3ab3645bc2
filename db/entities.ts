/**
 * TypeORM entities, declared as EntitySchema objects: no decorators, so the same code runs
 * under tsc, tsx and jest without reflection metadata. Columns mirror the migrations.
 */
import { EntitySchema } from 'typeorm';
import type { Actor, FlowDefinition, Tag } from '../domain/flow-types';
import type { RunStatus, StepStatus } from '../domain/statuses';
import type { RequestRecord } from '../steps/step-type';

/** A JSON value as stored in a jsonb column. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- jsonb holds any JSON; TypeORM's deep-partial types cannot recurse into a JSON union
export type Json = any;
export type { Actor, Tag };

export interface Account {
  id: string;
  name: string;
  createdAt: Date;
}
export interface ApiKey {
  id: string;
  accountId: string;
  name: string;
  keyHash: string;
  keyPrefix: string;
  /** `read`, `run` and/or `admin`. */
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}
export interface App {
  id: string;
  accountId: string;
  name: string;
  platform: 'web' | 'ios' | 'android';
  bundleId: string | null;
  baseUrl: string | null;
  variables: Record<string, string>;
  /** Names of the variables declared secret. */
  secrets: string[];
  activeBuildId: string | null;
  createdAt: Date;
  updatedAt: Date;
}
export interface Build {
  id: string;
  accountId: string;
  appId: string;
  version: string | null;
  variables: Record<string, string>;
  /** Names of the variables declared secret. */
  secrets: string[];
  createdAt: Date;
}
export interface Flow {
  accountId: string;
  id: string;
  name: string;
  type: string;
  version: number;
  definition: FlowDefinition;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}
export interface FlowVersion {
  accountId: string;
  flowId: string;
  version: number;
  definition: FlowDefinition;
  createdAt: Date;
}
export interface Suite {
  accountId: string;
  id: string;
  name: string;
  /** Member flows, in run order. */
  flowIds: string[];
  authFlowId: string | null;
  variables: Record<string, string>;
  /** Names of the variables declared secret. */
  secrets: string[];
  createdAt: Date;
  updatedAt: Date;
}
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
}
export interface Agent {
  accountId: string;
  name: string;
  /** Unused since agents talk to the gateway only (db/agent-attempts.ts); kept for the schema's history. */
  taskQueue: string | null;
  registeredBy: string | null;
  createdAt: Date;
  registeredAt: Date;
}
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
}
/** One HTTP exchange of a step attempt, as the step records it (steps/step-type.ts). */
export interface RunRequest extends RequestRecord {
  runId: string;
  stepId: string;
}

const text = { type: 'text' as const };
const textNull = { type: 'text' as const, nullable: true };
const jsonb = { type: 'jsonb' as const };
const jsonbNull = { type: 'jsonb' as const, nullable: true };
const textArray = { type: 'text' as const, array: true, default: () => "'{}'" };
const ts = (name: string) => ({ type: 'timestamptz' as const, precision: 3, name });
const tsNull = (name: string) => ({ ...ts(name), nullable: true });
const int = { type: 'integer' as const };
const intNull = { type: 'integer' as const, nullable: true };

export const AccountEntity = new EntitySchema<Account>({
  name: 'Account',
  tableName: 'accounts',
  columns: { id: { ...text, primary: true }, name: text, createdAt: { ...ts('created_at'), createDate: true } },
});

export const ApiKeyEntity = new EntitySchema<ApiKey>({
  name: 'ApiKey',
  tableName: 'api_keys',
  columns: {
    id: { ...text, primary: true },
    accountId: { ...text, name: 'account_id' },
    name: text,
    keyHash: { ...text, name: 'key_hash' },
    keyPrefix: { ...text, name: 'key_prefix' },
    scopes: { type: 'text' as const, array: true },
    createdAt: { ...ts('created_at'), createDate: true },
    expiresAt: tsNull('expires_at'),
    revokedAt: tsNull('revoked_at'),
  },
});

export const AppEntity = new EntitySchema<App>({
  name: 'App',
  tableName: 'apps',
  columns: {
    id: { ...text, primary: true },
    accountId: { ...text, name: 'account_id' },
    name: text,
    platform: text,
    bundleId: { ...textNull, name: 'bundle_id' },
    baseUrl: { ...textNull, name: 'base_url' },
    variables: jsonb,
    secrets: textArray,
    activeBuildId: { ...textNull, name: 'active_build_id' },
    createdAt: { ...ts('created_at'), createDate: true },
    updatedAt: { ...ts('updated_at'), updateDate: true },
  },
});

export const BuildEntity = new EntitySchema<Build>({
  name: 'Build',
  tableName: 'builds',
  columns: {
    id: { ...text, primary: true },
    accountId: { ...text, name: 'account_id' },
    appId: { ...text, name: 'app_id' },
    version: textNull,
    variables: jsonb,
    secrets: textArray,
    createdAt: { ...ts('created_at'), createDate: true },
  },
});

export const FlowEntity = new EntitySchema<Flow>({
  name: 'Flow',
  tableName: 'flows',
  columns: {
    accountId: { ...text, name: 'account_id', primary: true },
    id: { ...text, primary: true },
    name: text,
    type: text,
    version: int,
    definition: jsonb,
    createdAt: { ...ts('created_at'), createDate: true },
    updatedAt: { ...ts('updated_at'), updateDate: true },
    deletedAt: tsNull('deleted_at'),
  },
});

export const FlowVersionEntity = new EntitySchema<FlowVersion>({
  name: 'FlowVersion',
  tableName: 'flow_versions',
  columns: {
    accountId: { ...text, name: 'account_id', primary: true },
    flowId: { ...text, name: 'flow_id', primary: true },
    version: { ...int, primary: true },
    definition: jsonb,
    createdAt: { ...ts('created_at'), createDate: true },
  },
});

export const SuiteEntity = new EntitySchema<Suite>({
  name: 'Suite',
  tableName: 'suites',
  columns: {
    accountId: { ...text, name: 'account_id', primary: true },
    id: { ...text, primary: true },
    name: text,
    flowIds: { ...jsonb, name: 'flow_ids' },
    authFlowId: { ...textNull, name: 'auth_flow_id' },
    variables: jsonb,
    secrets: textArray,
    createdAt: { ...ts('created_at'), createDate: true },
    updatedAt: { ...ts('updated_at'), updateDate: true },
  },
});

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
    variables: jsonb,
    tags: jsonb,
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
    position: int,
    suiteId: { ...textNull, name: 'suite_id' },
    flowId: { ...text, name: 'flow_id' },
    flowVersion: { ...intNull, name: 'flow_version' },
    flowName: { ...text, name: 'flow_name' },
    flowType: { ...text, name: 'flow_type' },
    status: text,
    source: text,
    actor: jsonbNull,
    appId: { ...textNull, name: 'app_id' },
    buildId: { ...textNull, name: 'build_id' },
    browser: textNull,
    triggerData: { ...jsonbNull, name: 'trigger_data' },
    variables: jsonb,
    tags: jsonb,
    outputs: jsonbNull,
    error: jsonbNull,
    external: { type: 'boolean' },
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
  },
});

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
    attempts: int,
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

export const AgentEntity = new EntitySchema<Agent>({
  name: 'Agent',
  tableName: 'agents',
  columns: {
    accountId: { ...text, name: 'account_id', primary: true },
    name: { ...text, primary: true },
    taskQueue: { ...textNull, name: 'task_queue' },
    registeredBy: { ...textNull, name: 'registered_by' },
    createdAt: { ...ts('created_at'), createDate: true },
    registeredAt: ts('registered_at'),
  },
});

export const ENTITIES = [
  AgentEntity,
  AccountEntity,
  ApiKeyEntity,
  AppEntity,
  BuildEntity,
  FlowEntity,
  FlowVersionEntity,
  SuiteEntity,
  BatchEntity,
  RunEntity,
  StepRunEntity,
  RunLogEntity,
  RunRequestEntity,
];
