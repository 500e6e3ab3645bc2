/**
 * Every table, declared where a reader looks for tables: TypeORM EntitySchema objects (no
 * decorators, so the same code runs under tsc, tsx and jest without reflection metadata), one
 * module per topic. Columns mirror the migrations (db/migrations/), which alone change the schema:
 * the data source never synchronizes. Tables the code reads and writes with SQL only are declared
 * here all the same (their interfaces name the module that does: db/agent-attempts.ts,
 * db/run-limits.ts, db/dashboard-sessions.ts, …); test/schema-declared.test.ts fails on a table or
 * column the migrations make that no entity declares.
 */
import { AccountEntity, ApiKeyEntity, DashboardSessionEntity, PlatformSecretEntity } from './accounts';
import { AgentAttemptEntity, AgentEntity, AgentPollerEntity } from './agents';
import { AppEntity, BuildEntity } from './apps';
import { FlowEntity, FlowRunDurationEntity, FlowRunStatsEntity, FlowVersionEntity, SuiteEntity, VisualBaselineEntity } from './flows';
import { EventStreamEntity, RateBucketEntity } from './gateway-state';
import { RunDescendantEntity, RunSlotEntity } from './run-limits';
import { RunArtifactEntity, RunLogEntity, RunRequestEntity, StepOutputEntity, StepRunEntity } from './run-records';
import { BatchEntity, RunEntity } from './runs';

export type { Actor, Tag } from '../../domain/flow-types';
export type { Json } from './columns';
export * from './accounts';
export * from './agents';
export * from './apps';
export * from './flows';
export * from './gateway-state';
export * from './run-limits';
export * from './run-records';
export * from './runs';

export const ENTITIES = [
  AgentEntity,
  AgentAttemptEntity,
  AgentPollerEntity,
  AccountEntity,
  ApiKeyEntity,
  DashboardSessionEntity,
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
  RunSlotEntity,
  RunDescendantEntity,
  RateBucketEntity,
  EventStreamEntity,
];
