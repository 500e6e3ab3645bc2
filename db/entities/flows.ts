/** Tables of flows: `flows`, `flow_versions`, `suites`, and what runs keep per flow (`flow_run_stats`, `flow_run_durations`, `visual_baselines`). */
import { EntitySchema } from 'typeorm';
import type { FlowDefinition } from '../../domain/flow-types';
import { text, textNull, jsonb, jsonbObject, jsonbList, textArray, ts, tsNull, int, bigint } from './columns';

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
/**
 * Per-flow run figures, kept by triggers on `runs` (migration 1733900000000): read by
 * `GET /api/v1/flows/{flowId}/runs/stats`, never written by the application. Bigints read as strings.
 */
export interface FlowRunStats {
  accountId: string;
  flowId: string;
  totalRuns: string;
  succeeded: string;
  failed: string;
  finished: string;
  durationSum: string;
  /** Succeeded as the rerun or resumption of a failed or timed-out run (migration 1734720000000). */
  flaky: string;
}
/** A bucket of a flow's finished-run durations (the duration below 1 s, 3 significant digits above), kept by the same triggers. */
export interface FlowRunDuration {
  accountId: string;
  flowId: string;
  bucket: string;
  n: string;
}
/** The baseline screenshot visual regression compares a step's screenshot with (migration 1733700000000); the bytes are in the artifact store. */
export interface VisualBaseline {
  accountId: string;
  flowId: string;
  stepId: string;
  name: string;
  browser: string;
  viewport: string;
  storageKey: string;
  /** The run whose screenshot it is. */
  runId: string;
  width: number;
  height: number;
  createdAt: Date;
}

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
    flowIds: { ...jsonbList, name: 'flow_ids' },
    authFlowId: { ...textNull, name: 'auth_flow_id' },
    variables: jsonbObject,
    secrets: textArray,
    createdAt: { ...ts('created_at'), createDate: true },
    updatedAt: { ...ts('updated_at'), updateDate: true },
  },
});

export const FlowRunStatsEntity = new EntitySchema<FlowRunStats>({
  name: 'FlowRunStats',
  tableName: 'flow_run_stats',
  columns: {
    accountId: { ...text, name: 'account_id', primary: true },
    flowId: { ...text, name: 'flow_id', primary: true },
    totalRuns: { ...bigint, name: 'total_runs', default: 0 },
    succeeded: { ...bigint, default: 0 },
    failed: { ...bigint, default: 0 },
    finished: { ...bigint, default: 0 },
    durationSum: { ...bigint, name: 'duration_sum', default: 0 },
    flaky: { ...bigint, default: 0 },
  },
});

export const FlowRunDurationEntity = new EntitySchema<FlowRunDuration>({
  name: 'FlowRunDuration',
  tableName: 'flow_run_durations',
  columns: {
    accountId: { ...text, name: 'account_id', primary: true },
    flowId: { ...text, name: 'flow_id', primary: true },
    bucket: { ...bigint, primary: true },
    n: bigint,
  },
});

export const VisualBaselineEntity = new EntitySchema<VisualBaseline>({
  name: 'VisualBaseline',
  tableName: 'visual_baselines',
  columns: {
    accountId: { ...text, name: 'account_id', primary: true },
    flowId: { ...text, name: 'flow_id', primary: true },
    stepId: { ...text, name: 'step_id', primary: true },
    name: { ...text, primary: true },
    browser: { ...text, primary: true },
    viewport: { ...text, primary: true },
    storageKey: { ...text, name: 'storage_key' },
    runId: { ...text, name: 'run_id' },
    width: int,
    height: int,
    createdAt: { ...ts('created_at'), createDate: true },
  },
});
