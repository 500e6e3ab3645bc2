/**
 * Every table, declared where a reader looks for tables: TypeORM EntitySchema objects (no
 * decorators, so the same code runs under tsc, tsx and jest without reflection metadata), one
 * module per topic. Columns mirror the migrations (db/migrations/), which alone change the schema:
 * the data source never synchronizes. Tables kept by their own typed modules: `agent_attempts`
 * and `agent_pollers` (db/agent-attempts.ts), `run_slots` and `run_descendants` (db/run-limits.ts).
 */
import { AccountEntity, ApiKeyEntity, PlatformSecretEntity } from './accounts';
import { AgentEntity } from './agents';
import { AppEntity, BuildEntity } from './apps';
import { FlowEntity, FlowRunDurationEntity, FlowRunStatsEntity, FlowVersionEntity, SuiteEntity, VisualBaselineEntity } from './flows';
import { RunArtifactEntity, RunLogEntity, RunRequestEntity, StepOutputEntity, StepRunEntity } from './run-records';
import { BatchEntity, RunEntity } from './runs';

export type { Actor, Tag } from '../../domain/flow-types';
export type { Json } from './columns';
export * from './accounts';
export * from './agents';
export * from './apps';
export * from './flows';
export * from './run-records';
export * from './runs';

export const ENTITIES = [
  AgentEntity,
  AccountEntity,
  ApiKeyEntity,
  PlatformSecretEntity,
  AppEntity,
  BuildEntity,
  FlowEntity,
  FlowVersionEntity,
  SuiteEntity,
  FlowRunStatsEntity,
  FlowRunDurationEntity,
  VisualBaselineEntity,
  BatchEntity,
  RunEntity,
  StepRunEntity,
  RunLogEntity,
  RunRequestEntity,
  StepOutputEntity,
  RunArtifactEntity,
];
