/**
 * The workflows' contract, types only (nothing here runs): the workflows by the type name a client
 * starts them by, with what they take and answer, and what the workflows send their activities and
 * get back. The gateway starts workflows by name (`client.workflow.start<BatchRunWorkflow>(WorkflowTypes.batchRun, …)`)
 * importing only these types and workflows/definitions.ts, never a workflow file; the activities
 * implement the calls below without importing a workflow, and the workflows call them without
 * importing an activity's code.
 */
import type { TriggerRequest } from '../core/batches';
import type { RunRequest } from '../db/entities';
import type { LogLine, StepRow } from '../db/projections';
import type { BatchChildInput, BatchRunInput, ExpressionScope, FlowRunInput, FlowRunRef, RunResult, StepDefinition } from '../domain/flow-types';
import type { RunStatus } from '../domain/statuses';

// ---- Workflows, by type name ----

/** What a batch workflow answers: each run's end. */
export interface BatchResult {
  batchId: string;
  runs: { runId: string; status: RunStatus }[];
}

/** What a schedule fires: the account, the schedule's id in it, and the trigger (`save_env` never applies). */
export interface ScheduledTrigger {
  accountId: string;
  scheduleId: string;
  trigger: TriggerRequest;
  /** The schedule's definition as the client sent it, for the API to read back (a Temporal update replaces the action, never the memo). */
  definition?: unknown;
}

/** `batchRun`: a batch's runs, at most `maxParallel` at a time (workflow id `batch-<batchId>`). */
export type BatchRunWorkflow = (input: BatchRunInput) => Promise<BatchResult>;
/**
 * `flowRun`: one run of a flow (workflow id `run-<runId>`). A batch's run (BatchChildInput) ends
 * with no result when it succeeds; a sub-flow's (whole input, with an ancestry) with its outputs.
 */
export type FlowRunWorkflow = (arg: FlowRunInput | FlowRunRef | BatchChildInput) => Promise<RunResult | undefined>;
/** `scheduledBatch`: one firing of a schedule, resolved into a fresh batch run as a child. */
export type ScheduledBatchWorkflow = (trigger: ScheduledTrigger) => Promise<{ batchId: string }>;
/** `retentionSweep`: the daily deletion of what is past each account's retention. */
export type RetentionSweepWorkflow = () => Promise<{ runs: number; batches: number }>;

/** The workflows others start, by type name; workflows/index.ts checks that each one is what this says. */
export interface Workflows {
  batchRun: BatchRunWorkflow;
  flowRun: FlowRunWorkflow;
  scheduledBatch: ScheduledBatchWorkflow;
  retentionSweep: RetentionSweepWorkflow;
}

// ---- What the workflows send their activities ----

export interface StepCall {
  runId: string;
  /** The id the step is recorded under (`auth.<id>` for a suite's auth steps). */
  key: string;
  position: number;
  step: StepDefinition;
  scope: ExpressionScope;
  /** Names of the run's secret variables (besides those named like one). */
  secrets?: string[];
  /** Records of the run this step's activity makes on the way (workflows/flow-run.ts). */
  run?: CarriedRunRecords;
}

/**
 * A run's start and end, recorded by a step's activity instead of local activities of their own
 * (workflows/flow-run.ts): each spares the run an activation and a local activity.
 */
export interface CarriedRunRecords {
  /** The run's start is not known to be recorded: its steps, to seed as `recordRunStarted` does. */
  start?: StepRow[];
  /**
   * Every other step of the run has succeeded or been skipped, so the run succeeds if this step
   * does: the rows of the others that their own activities did not write (skipped, run by the
   * workflow), to record with the run's end as `recordRunFinished` does.
   */
  finish?: StepRow[];
}

/** What of its `CarriedRunRecords` an activity did record. */
export interface RunRecorded {
  recorded?: { start?: true; finish?: true };
}

export type StepOutcome = RunRecorded &
  ({ skipped: true } | { skipped: false; output: unknown; attempts: number; startedAt: string; finishedAt: string; durationMs: number; unrecorded?: StepEndRecords });

/**
 * A step's end as its activity writes it (its row, its start and success lines, the attempt's
 * requests, all masked), handed back when Postgres did not take it in time: the step's call is
 * made and its result durable in Temporal, and the workflow writes these with \`recordStepEnd\`,
 * an activity of their own that retries until Postgres answers.
 */
export interface StepEndRecords {
  runId: string;
  /** The row; a large output as its reference, loaded and masked (\`mask\`) when it is written. */
  row: StepRow;
  lines: LogLine[];
  requests: RunRequest[];
  mask?: { vars: Record<string, string>; secrets?: string[] };
}

/** A run's end, as `recordRunFinished` takes it. */
export interface RunEnd {
  runId: string;
  status: RunStatus;
  error: { step: string; message: string } | null;
  outputs: unknown;
  steps: StepRow[];
}

/** The step a record is about. */
export type StepRef = Pick<StepCall, 'runId' | 'key' | 'position' | 'step'>;

/** What recording an agent's attempt needs of its call: not the scope, only the variables to mask by. */
export interface RecordedCall extends StepRef, Pick<StepCall, 'secrets'> {
  vars: Record<string, string>;
}

/** Details attached to a step's failure, so the workflow can report attempts and timing. */
export interface StepFailureDetails {
  attempts: number;
  startedAt: string;
}
