/**
 * Plain types of a flow definition and of the workflow contracts. No runtime dependencies:
 * the workflow bundle imports this file, the gateway and the activities too.
 */
import type { StepDefinition, StepTypeName } from '../steps';
import type { RunSource, RunStatus, StepStatus } from './statuses';
import type { WebhookTarget } from './webhooks';

export type { StepDefinition, StepTypeName };

export const FLOW_TYPES = ['automation', 'selfServiceAction', 'scorecard', 'reference'] as const;
export type FlowType = (typeof FLOW_TYPES)[number];

export interface FlowConfigs {
  endOnFail?: boolean;
  timeoutMs?: number;
}

export interface FlowDefinition {
  id: string;
  name: string;
  type: FlowType;
  description?: string;
  variables: Record<string, string>;
  /** Variables declared secret. */
  secrets?: string[];
  /** Webhooks called when a run of the flow finishes. */
  notify?: WebhookTarget[];
  configs: FlowConfigs;
  steps: StepDefinition[];
}

export interface Actor {
  id: string;
  name: string;
  type: 'user' | 'system';
}
export interface Tag {
  key: string;
  value: string;
}

/** What a flow-run workflow receives: everything it needs, resolved at trigger time. */
export interface FlowRunInput {
  runId: string;
  /** The id the client chose for the run, when it did; `runId` is then an internal one. */
  publicId?: string;
  batchId: string;
  accountId: string;
  source: RunSource;
  /** Order of the run in its batch. */
  position: number;
  flow: FlowDefinition;
  flowVersion: number;
  /** The suite whose context (auth flow, variables) the run got, if any. */
  suiteId?: string;
  /** Auth flow of the run's suite, run first; its steps appear as `auth.<id>`. */
  authFlow?: FlowDefinition;
  /** Resolved variables (flow < suite < build < trigger). */
  variables: Record<string, string>;
  /** Names of the variables declared secret; their values are masked wherever the run is recorded or shown. */
  secrets?: string[];
  trigger: { body: unknown };
  /** Task queue of the child workflow; set only by runs started before agents ran steps alone (kept for their replay). */
  taskQueue?: string;
  /**
   * The account's agent the run's activity steps run on (handed to it through the gateway's queue); the
   * workflow and its records stay on the platform. `taskQueue`: set only by runs started when agents were Temporal workers.
   */
  agent?: { name: string; taskQueue?: string; /** The browser the run asked for, for its browser steps there. */ browser?: string };
  /** Lineage, for the records: the public id of the run this one reruns or resumes. */
  rerunOf?: string;
  resumedFrom?: string;
  /** Ids of the flows whose `flow` steps started this run, outermost first (a sub-flow's run). */
  ancestry?: string[];
  /** The run at the top of a sub-flow's ancestry, whose descendants are counted (FLOWRUNS_MAX_RUN_DESCENDANTS). */
  rootRunId?: string;
  /** Steps that passed in the run this one resumes: they start succeeded with these results, not executed again. */
  reused?: Record<string, ReusedStep>;
}

/** A passed step's result, carried into a resumed run. */
export type ReusedStep = Pick<StepState, 'output' | 'attempts' | 'startedAt' | 'finishedAt' | 'durationMs'>;

/** Who and what a batch was triggered with, recorded with its rows. */
export interface BatchMeta {
  actor: Actor | null;
  appId: string | null;
  buildId: string | null;
  browser: string | null;
  tags: Tag[];
  idempotencyKey: string | null;
  requestHash: string | null;
  /** The schedule that started the batch. */
  scheduleId?: string;
}

/** A flow of a planned batch, by reference: what each of its runs gets besides its matrix combination. */
export interface PlannedFlow {
  flowId: string;
  flowVersion: number;
  /** The auth flow of the run's suite, by reference. */
  authFlow?: { id: string; version: number };
  suiteId?: string;
  /** Overrides the flow's own `configs.endOnFail`. */
  endOnFail?: boolean;
  /** Resolved variables (flow < suite < build < trigger), before the matrix combination. */
  variables: Record<string, string>;
  secrets?: string[];
  agent?: FlowRunInput['agent'];
}

/**
 * A batch too large to carry its runs in one payload: run `p` is flow `p % flows.length` under
 * matrix combination `floor(p / flows.length)`; its ids are in its row (written before the start).
 */
export interface BatchPlan {
  total: number;
  /** Runs per chunk workflow, each a child of the batch with its own history. */
  chunkRuns: number;
  flows: PlannedFlow[];
  /** Variables of each matrix combination, over the flow's (`[{}]` without a matrix). */
  combos: Record<string, string>[];
  /** Index of `combos[0]` among all combinations (a chunk carries only the ones it needs). */
  comboOffset: number;
  trigger: { body: unknown };
}

/** A flow run of a planned batch: its definitions by reference, loaded by the run itself. */
/**
 * A run of a batch as its batch starts it: its ids and source left out, since the run's workflow
 * reads them from its own id (`run-<runId>`) and search attributes (BatchId, AccountId, RunSource),
 * which carry them anyway: three UUIDs fewer in each of the two events a run's input is written to.
 */
export type BatchChildInput = Omit<FlowRunInput, 'runId' | 'batchId' | 'accountId' | 'source'>;

export type FlowRunRef = Omit<FlowRunInput, 'flow' | 'authFlow'> & {
  flowRef: { id: string; version: number };
  authFlowRef?: { id: string; version: number };
  endOnFail?: boolean;
};

export interface BatchRunInput {
  batchId: string;
  accountId: string;
  source: RunSource;
  maxParallel: number;
  meta: BatchMeta;
  /** Every run, whole; empty in the workflow's input when `plan` is set. */
  runs: FlowRunInput[];
  /** Set for batches over `INLINE_RUNS` runs: the workflow runs them in chunks from this plan. */
  plan?: BatchPlan;
  /** A temporary schedule that started this batch (an agent run's `isDelete`), deleted once every run has finished. */
  deleteScheduleId?: string;
  /** Webhooks the trigger named, called when the batch finishes. */
  notify?: WebhookTarget[];
}

/** The expression scope of `if`, `transform` and `{{ }}`. */
export interface ExpressionScope {
  trigger: { body: unknown };
  vars: Record<string, string>;
  steps: Record<string, { status: StepStatus; output: unknown }>;
  auth: Record<string, { status: StepStatus; output: unknown }>;
  run: { id: string; batchId: string; flowId: string };
}

export interface StepState {
  id: string;
  name: string;
  type: StepTypeName;
  status: StepStatus;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  output?: unknown;
  error?: string;
}

/** Live progress of a run, answered by the flow-run workflow's `progress` query. */
export interface RunProgress {
  runId: string;
  status: RunStatus;
  steps: StepState[];
  error?: { step: string; message: string } | null;
}

export interface RunResult {
  /** In a sub-flow's result only (a batch's run returns its status alone). */
  runId?: string;
  status: RunStatus;
  error?: { step: string; message: string } | null;
  /** Outputs of the steps that succeeded, in a sub-flow's result only (its parent's `flow` step reads them). */
  outputs?: Record<string, unknown>;
}
