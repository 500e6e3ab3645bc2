/**
 * Activities: every side effect of a run. Built by a factory so the worker injects the real
 * data source, HTTP client and clock (samples-typescript `activities-dependency-injection`). This
 * file only assembles them; each module is named by what its activities do.
 */
import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { Projections } from '../db/projections';
import { DEFAULT_INLINE_OUTPUT_BYTES } from '../domain/output-refs';
import type { ArtifactStore } from '../db/artifact-store';
import { DEFAULT_RUN_LIMITS, type RunLimits } from '../db/run-limits';
import { createAgentDispatchActivities } from './agent-dispatch';
import { createAgentRecordActivities } from './agent-records';
import { createBatchActivities } from './batches';
import type { BrowserPool } from './browser/pool';
import { createEgressFetch } from './egress';
import { createStepActivities } from './execute-step';
import { ExpressionEvaluator } from './expressions';
import { outputRefs } from './output-refs';
import { DEFAULT_RECORD_PATIENCE_MS, patient } from './patience';
import { createRetentionActivities } from './retention';
import { runAccounts } from './run-accounts';
import { stoppingWhenRunGone } from './run-gone';
import { createRunLimitActivities } from './run-limits';
import { createRunRecordActivities, runRecords } from './run-records';
import { createScheduledActivities } from './scheduled';
import { createScheduleActivities } from './schedules';
import type { StepRuntime } from './step-attempt';
import { stepRecords } from './step-records';
import { createSubFlowActivities } from './sub-flows';
import { createWebhookActivities } from './webhooks';

/** The workflow↔activity contract (workflows/contract.ts), for those who import it from here. */
export type { CarriedRunRecords, RecordedCall, RunEnd, RunRecorded, StepCall, StepFailureDetails, StepOutcome } from '../workflows/contract';
export { START_RECORD_DELAY_MS } from './held-start';
export { stepName } from './step-records';

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
  const outputs = outputRefs(projections, inlineOutputBytes);
  const steps = stepRecords(projections);
  const runs = runRecords(projections);

  return stoppingWhenRunGone({
    ...createScheduleActivities(client),
    ...createWebhookActivities({ dataSource, fetch, publicUrl }),
    ...createScheduledActivities(dataSource),
    ...createRetentionActivities(dataSource, browsers?.store),
    ...createRunLimitActivities(dataSource, runLimits),
    ...createAgentDispatchActivities({ dataSource, resolveScope: (scope) => outputs.resolved(scope) }),
    ...createBatchActivities(dataSource, projections, recordPatienceMs),
    ...createRunRecordActivities(projections, runs),
    ...createStepActivities({ dataSource, projections, clock, expressions, accountOf, runtime, recordPatienceMs, publicUrl, browsers, outputs, steps, runs }),
    ...createSubFlowActivities(dataSource, runLimits),
    ...createAgentRecordActivities({ dataSource, projections, recordPatienceMs, outputs, steps, store: browsers?.store }),
  });
}

export type Activities = ReturnType<typeof createActivities>;
