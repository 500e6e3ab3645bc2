/**
 * Accepting a trigger: resolve flows, app, build and variables, write the batch and its runs,
 * and start the batch workflow — all or nothing, and at most once per idempotency key.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { In, IsNull, type EntityManager } from 'typeorm';
import { AppEntity, BatchEntity, BuildEntity, FlowEntity, RunEntity, SuiteEntity, type App, type Build, type Run, type Suite } from '../../../db/entities';
import { platformSecret } from '../../../db/data-source';
import { insertBatchRows } from '../../../db/projections';
import { ConflictError, IdempotencyMismatchError, InvalidError, NotFoundError, UnavailableError, type FieldPath } from '../../../domain/errors';
import type { WebhookTarget } from '../../../domain/webhooks';
import { BOOKKEEPING, type Actor, type BatchPlan, type BatchRunInput, type FlowRunInput, type PlannedFlow, type Tag } from '../../../domain/flow-types';
import { batchFlowIds, DEFAULT_BATCH_LIMITS, matrixCombos, matrixSize, MAX_BATCH_RUNS, plannedAt, workflowInput } from '../../../domain/batch-plan';
import type { RunSource } from '../../../domain/statuses';
import { batchRun } from '../../../workflows';
import { batchWorkflowId } from '../../../workflows/definitions';
import { ACCOUNT_ID, BATCH_ID, FLOW_ID, RUN_SOURCE } from '../../../workflows/search-attributes';
import { secretNames } from '../definitions/secret-variables';
import { suitesOfFlow } from '../definitions/suites';
import type { AuthContext, GatewayDeps } from '../deps';

/**
 * What to run and how. Errors name their input by these fields: `['flowIds', i]`,
 * `['suiteIds', i]`, `['suiteOverrides', flowId]`, `['appId']`, `['bundle']`, `['buildId']`, `['runIds']`.
 */
export interface TriggerRequest {
  /** Suites whose flows all run, in suite order, each with its suite's context. */
  suiteIds?: string[];
  flowIds: string[];
  /**
   * Whether a flow given by id gets its suite's auth flow and variables: true refuses a flow in
   * several suites without an override; 'when-unambiguous' (the default) uses the suite only when
   * there is exactly one; false never does.
   */
  resolveSuiteContext?: boolean | 'when-unambiguous';
  /** `{ flowId: suiteId }` for flows in several suites. */
  suiteOverrides?: Record<string, string>;
  /** Run ids chosen by the client, one per flow; generated when absent. */
  runIds?: string[];
  /** Overrides the flows' own `configs.endOnFail`. */
  endOnFail?: boolean;
  /** Runs the flows' activity steps on this agent of the account; the workflows stay on the platform. */
  agent?: FlowRunInput['agent'];
  appId?: string;
  bundle?: { bundleId: string; platform: string };
  buildId?: string;
  /** Variables over the flows', the suite's, the app's and the build's: this batch's, and the build's too with `saveEnv`. */
  env?: Record<string, string>;
  /** Webhooks called when the batch finishes. */
  notify?: WebhookTarget[];
  /** Who the batch is recorded as started by; the caller's key by default. */
  actor?: Actor;
  /** The schedule that fires this trigger. */
  scheduleId?: string;
  /**
   * Also save `env` (and the trigger's secrets among it) on the build that runs. Unset is false here:
   * `POST /api/v1/flows/run` sets it (default true, as the CI-batch contract says); schedules and agent runs never do.
   */
  saveEnv?: boolean;
  /** Names of variables declared secret by the trigger, besides those the flow, suite, app and build declare. */
  secrets?: string[];
  browser?: string | null;
  /** Default 'api'. */
  source?: RunSource;
  tags?: Tag[];
  /** Default 1. */
  maxParallel?: number;
  /** Readable by the flows as `trigger.body`. */
  data?: unknown;
  /** Variables to repeat every flow over: one run per flow and combination of their values. */
  matrix?: Record<string, (string | number | boolean)[]>;
  /** A key that makes a retried trigger answer the batch it created; `request` is what the key was sent with, and a replay must match it. */
  idempotency?: { key: string; request: unknown };
}

export interface TriggeredBatch {
  batchId: string;
  createdAt: Date;
  source: string;
  runs: Pick<Run, 'id' | 'flowId' | 'flowName' | 'status' | 'createdAt'>[];
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const requestHash = (request: unknown): string => sha256(JSON.stringify(request ?? null));

/** A batch id derived from the key, so a retry after any crash lands on the same workflow id. */
/** Keyed by a platform secret, so another account cannot compute the id in advance and claim it. */
function idempotentId(secret: string, accountId: string, key: string): string {
  const h = createHmac('sha256', secret).update(`${accountId}\n${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

async function existingBatch(m: EntityManager, accountId: string, batchId: string): Promise<TriggeredBatch | null> {
  const batch = await m.findOne(BatchEntity, { where: { id: batchId, accountId } });
  if (!batch) return null;
  const runs = await m.find(RunEntity, {
    where: { batchId },
    order: { position: 'ASC' },
    select: { publicId: true, flowId: true, flowName: true, status: true, createdAt: true },
  });
  return { batchId, createdAt: batch.createdAt, source: batch.source, runs: runs.map(({ publicId, ...r }) => ({ ...r, id: publicId })) };
}

async function resolveApp(m: EntityManager, accountId: string, req: TriggerRequest): Promise<App | null> {
  if (req.appId) {
    const app = await m.findOne(AppEntity, { where: { id: req.appId, accountId } });
    if (!app) throw new NotFoundError(`app ${req.appId}`, ['appId']);
    return app;
  }
  if (req.bundle) {
    const app = await m.findOne(AppEntity, {
      where: { accountId, bundleId: req.bundle.bundleId, platform: req.bundle.platform as App['platform'] },
    });
    if (!app) throw new NotFoundError(`${req.bundle.platform} app with bundle_id ${req.bundle.bundleId}`, ['bundle']);
    return app;
  }
  return null;
}

async function resolveBuild(m: EntityManager, app: App | null, req: TriggerRequest): Promise<Build | null> {
  if (req.buildId) {
    const build = app ? await m.findOne(BuildEntity, { where: { id: req.buildId, appId: app.id } }) : null;
    if (!build) throw new NotFoundError(`build ${req.buildId} of this app`, ['buildId']);
    return build;
  }
  if (app?.activeBuildId) return m.findOne(BuildEntity, { where: { id: app.activeBuildId, appId: app.id } });
  return null;
}

interface PlannedRun {
  flowId: string;
  /** The input the flow came from, for errors. */
  field: FieldPath;
  suite: Suite | null;
}

/** The flows to run, each with the suite whose context it gets; a flow asked for twice runs once. */
async function planRuns(m: EntityManager, accountId: string, req: TriggerRequest): Promise<PlannedRun[]> {
  const planned: PlannedRun[] = [];
  const add = (p: PlannedRun) => {
    if (!planned.some((q) => q.flowId === p.flowId)) planned.push(p);
  };
  for (const [i, suiteId] of (req.suiteIds ?? []).entries()) {
    const field = ['suiteIds', i];
    const suite = await m.findOne(SuiteEntity, { where: { accountId, id: suiteId } });
    if (!suite) throw new NotFoundError(`suite ${suiteId}`, field);
    if (suite.flowIds.length === 0) throw new InvalidError(`suite ${suiteId} has no flows`, field);
    for (const flowId of suite.flowIds) add({ flowId, field, suite });
  }
  const mode = req.resolveSuiteContext ?? 'when-unambiguous';
  for (const [i, flowId] of req.flowIds.entries()) {
    const field = ['flowIds', i];
    if (mode === false) {
      add({ flowId, field, suite: null });
      continue;
    }
    const suites = await suitesOfFlow(m, accountId, flowId);
    const override = req.suiteOverrides?.[flowId];
    let suite: Suite | null = null;
    if (override) {
      suite = suites.find((s) => s.id === override) ?? null;
      if (!suite) throw new InvalidError(`flow ${flowId} is not in suite ${override}`, ['suiteOverrides', flowId]);
    } else if (suites.length === 1) {
      suite = suites[0];
    } else if (suites.length > 1 && mode === true) {
      throw new InvalidError(
        `flow ${flowId} belongs to several suites (${suites.map((s) => s.id).join(', ')}); choose one with suite_overrides`,
        field,
        { type: 'ambiguous_suite' },
      );
    }
    add({ flowId, field, suite });
  }
  return planned;
}

/**
 * Resolves a trigger into the batch workflow's input. It writes no batch or run and starts
 * nothing; only with `saveEnv` does it write `env` onto the build that runs, inside `m`.
 */
export async function prepareBatch(
  deps: Pick<GatewayDeps, 'dataSource'>,
  auth: AuthContext,
  req: TriggerRequest,
  m: EntityManager = deps.dataSource.manager,
  batchId: string = randomUUID(),
): Promise<BatchRunInput> {
  const source = req.source ?? 'api';
  const idSecret = await platformSecret(deps.dataSource, 'derived-ids');
  const planned = await planRuns(m, auth.accountId, req);
  const total = planned.length * matrixSize(req.matrix);
  if (total > MAX_BATCH_RUNS)
    throw new InvalidError(`a batch runs at most ${MAX_BATCH_RUNS} runs; ${planned.length} flows × ${matrixSize(req.matrix)} matrix combinations would be ${total}`, req.matrix ? ['matrix'] : ['flowIds']);
  if (req.matrix && req.runIds) throw new InvalidError('run ids cannot be chosen for a matrix', ['matrix']);
  const wanted = [...planned.map((p) => p.flowId), ...planned.flatMap((p) => (p.suite?.authFlowId ? [p.suite.authFlowId] : []))];
  const flows = await m.find(FlowEntity, { where: { accountId: auth.accountId, id: In(wanted), deletedAt: IsNull() } });
  const byId = new Map(flows.map((f) => [f.id, f]));
  for (const p of planned) {
    if (!byId.has(p.flowId)) throw new NotFoundError(`flow ${p.flowId}`, p.field);
    if (p.suite?.authFlowId && !byId.has(p.suite.authFlowId))
      throw new ConflictError(`the auth flow ${p.suite.authFlowId} of suite ${p.suite.id} no longer exists`, p.field);
  }
  if (req.runIds) {
    const taken = await m.find(RunEntity, { where: { accountId: auth.accountId, publicId: In(req.runIds) }, select: { publicId: true } });
    if (taken.length > 0) throw new ConflictError(`run ${taken[0].publicId} already exists`, ['runIds']);
  }

  const app = await resolveApp(m, auth.accountId, req);
  const build = await resolveBuild(m, app, req);
  const browser = app && app.platform !== 'web' ? null : (req.browser ?? null);
  const env = req.env ?? {};
  if (req.saveEnv && build && Object.keys(env).length > 0) {
    const variables = { ...build.variables, ...env };
    const secrets = secretNames(build.secrets, req.secrets?.filter((name) => Object.hasOwn(env, name)));
    await m.update(BuildEntity, { id: build.id }, { variables, secrets });
  }
  // Each flow once, by reference, with what its runs share; the matrix multiplies them.
  const flowsPlanned: PlannedFlow[] = planned.map(({ flowId, suite }) => {
    const flow = byId.get(flowId)!;
    const authFlow = suite?.authFlowId ? byId.get(suite.authFlowId)! : undefined;
    const secrets = secretNames(authFlow?.definition.secrets, flow.definition.secrets, suite?.secrets, app?.secrets, build?.secrets, req.secrets);
    return {
      flowId,
      flowVersion: flow.version,
      ...(authFlow ? { authFlow: { id: authFlow.id, version: authFlow.version } } : {}),
      ...(suite ? { suiteId: suite.id } : {}),
      ...(req.endOnFail !== undefined ? { endOnFail: req.endOnFail } : {}),
      variables: {
        ...authFlow?.definition.variables,
        ...flow.definition.variables,
        ...suite?.variables,
        ...app?.variables,
        ...build?.variables,
        ...env,
      },
      ...(secrets.length ? { secrets } : {}),
      ...(req.agent ? { agent: { ...req.agent, ...(browser ? { browser } : {}) } } : {}),
    };
  });
  const plan: BatchPlan = {
    total,
    chunkRuns: DEFAULT_BATCH_LIMITS.chunkRuns,
    flows: flowsPlanned,
    combos: matrixCombos(req.matrix),
    comboOffset: 0,
    trigger: { body: req.data ?? null },
  };
  const runs: FlowRunInput[] = Array.from({ length: plan.total }, (_, position) => {
    const { flow: p, variables } = plannedAt(plan, position);
    const flow = byId.get(p.flowId)!;
    const definition = p.endOnFail === undefined ? flow.definition : { ...flow.definition, configs: { ...flow.definition.configs, endOnFail: p.endOnFail } };
    const key = req.idempotency?.key;
    // A client-chosen id is the run's public id within the account; internally the run gets an id of its own.
    const chosen = req.runIds?.[position];
    const runId = chosen ? randomUUID() : key ? idempotentId(idSecret, auth.accountId, `${key}#${position}`) : randomUUID();
    return {
      runId,
      ...(chosen ? { publicId: chosen } : {}),
      batchId,
      accountId: auth.accountId,
      source,
      position,
      flow: definition,
      flowVersion: flow.version,
      variables,
      ...(p.secrets ? { secrets: p.secrets } : {}),
      trigger: plan.trigger,
      ...(p.suiteId ? { suiteId: p.suiteId } : {}),
      ...(p.authFlow ? { authFlow: byId.get(p.authFlow.id)!.definition } : {}),
      ...(p.agent ? { agent: p.agent } : {}),
    };
  });
  return {
    batchId,
    accountId: auth.accountId,
    source,
    maxParallel: req.maxParallel ?? 1,
    meta: {
      actor: req.actor ?? { id: auth.keyId, name: auth.keyName, type: 'user' },
      appId: app?.id ?? null,
      buildId: build?.id ?? null,
      browser,
      tags: req.tags ?? [],
      idempotencyKey: req.idempotency?.key ?? null,
      requestHash: req.idempotency ? requestHash(req.idempotency.request) : null,
      ...(req.scheduleId ? { scheduleId: req.scheduleId } : {}),
    },
    runs,
    plan,
    ...(req.notify?.length ? { notify: req.notify } : {}),
  };
}

/** Search attributes of a batch workflow, so operators can find it in the Temporal UI. */
export const batchSearchAttributes = (input: BatchRunInput) => [
  { key: BATCH_ID, value: input.batchId },
  { key: ACCOUNT_ID, value: input.accountId },
  { key: RUN_SOURCE, value: input.source },
  { key: FLOW_ID, value: batchFlowIds(input) },
];

/** Browser steps of a run that asks for Firefox run only where a Firefox is configured; nothing is substituted. */
function refuseMissingBrowser(config: GatewayDeps['config'], input: BatchRunInput): void {
  if (input.meta.browser !== 'firefox' || config.firefoxPath) return;
  const usesBrowser = (f: FlowRunInput) => [...f.flow.steps, ...(f.authFlow?.steps ?? [])].some((s) => s.type === 'browser' || s.type === 'scan');
  const flow = input.runs.find(usesBrowser);
  if (flow)
    throw new InvalidError(`browser firefox is not available on this platform (no FIREFOX_PATH), and flow ${flow.flow.id} has browser steps; use chrome, chromium or edge`, ['browser']);
}

/**
 * Starts a batch. Its rows are written and committed first; the workflow is started afterwards,
 * outside any transaction and under a deadline, so a slow Temporal never holds a database
 * connection. The workflow writes the same rows again first thing (idempotently), so it is whole
 * whatever happens to the gateway. A start that failed is settled before answering: a workflow
 * that exists is success; one confirmed absent takes its rows back (503, nothing accepted); an
 * outcome Temporal would not confirm leaves the rows and answers 503 — a retry with the same
 * `Idempotency-Key` lands on that one batch and starts it if it is not running.
 */
export async function triggerBatch(deps: GatewayDeps, auth: AuthContext, req: TriggerRequest): Promise<TriggeredBatch> {
  const { dataSource } = deps;
  const batchId = req.idempotency ? idempotentId(await platformSecret(dataSource, 'derived-ids'), auth.accountId, req.idempotency.key) : randomUUID();

  if (req.idempotency) {
    const prior = await dataSource.getRepository(BatchEntity).findOne({ where: { id: batchId, accountId: auth.accountId } });
    if (prior && prior.requestHash !== requestHash(req.idempotency.request)) throw new IdempotencyMismatchError();
    if (prior) {
      const batch = (await existingBatch(dataSource.manager, auth.accountId, batchId))!;
      // The earlier request may have written the rows without Temporal confirming the start: start it now (ids derive from the key, so it is the same batch).
      const neverStarted = !req.runIds && batch.runs.every((r) => r.status === 'queued');
      if (neverStarted && (await workflowState(deps, batchWorkflowId(batchId))) === 'absent') {
        await launchBatch(deps, await prepareBatch(deps, auth, req, dataSource.manager, batchId), true);
        return (await existingBatch(dataSource.manager, auth.accountId, batchId))!;
      }
      return batch;
    }
  }

  const input = await dataSource.transaction(async (m) => {
    const prepared = await prepareBatch(deps, auth, req, m, batchId);
    refuseMissingBrowser(deps.config, prepared);
    await insertBatchRows(m, prepared);
    if (req.runIds) {
      // A concurrent trigger may have taken a client-chosen id between the check and the insert.
      const ours = await m.count(RunEntity, { where: { accountId: auth.accountId, publicId: In(req.runIds), batchId } });
      if (ours !== req.runIds.length) throw new ConflictError('a run with this id already exists', ['runIds']);
    }
    return prepared;
  });
  await launchBatch(deps, input, req.idempotency !== undefined);
  return (await existingBatch(dataSource.manager, auth.accountId, batchId))!;
}

/**
 * Starts the workflow of a batch whose rows are committed, and settles a start that failed: a
 * workflow that exists is success; one confirmed absent takes its rows back (503, nothing
 * accepted); an outcome Temporal would not confirm leaves the rows (the workflow, if it runs,
 * needs them) and answers 503.
 */
export async function launchBatch(deps: Pick<GatewayDeps, 'client' | 'config' | 'dataSource'>, input: BatchRunInput, idempotent: boolean): Promise<void> {
  try {
    await startBatchWorkflow(deps, input);
  } catch (err) {
    const state = await workflowState(deps, batchWorkflowId(input.batchId));
    if (state === 'exists') return;
    if (state === 'absent') {
      await deps.dataSource.getRepository(BatchEntity).delete({ id: input.batchId, accountId: input.accountId });
      throw new UnavailableError(`could not start the batch on Temporal, nothing was accepted; retry: ${(err as Error).message}`);
    }
    throw new UnavailableError(
      `Temporal did not confirm the start of batch ${input.batchId} in time; it may still start. ${idempotent ? 'Retry with the same Idempotency-Key to get it.' : 'Send an Idempotency-Key to retry safely.'}`,
    );
  }
}

/** How long the gateway waits on Temporal for a start or a describe. */
const TEMPORAL_DEADLINE_MS = 5_000;

/** Whether a workflow exists, by a describe under a deadline; `unknown` when Temporal does not answer. */
async function workflowState(deps: Pick<GatewayDeps, 'client'>, workflowId: string): Promise<'exists' | 'absent' | 'unknown'> {
  try {
    await deps.client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () => deps.client.workflow.getHandle(workflowId).describe());
    return 'exists';
  } catch (err) {
    return err instanceof WorkflowNotFoundError ? 'absent' : 'unknown';
  }
}

/** Starts the batch's workflow under a deadline; one already started (a retry) is success. Throws what Temporal threw. */
export async function startBatchWorkflow(deps: Pick<GatewayDeps, 'client' | 'config'>, input: BatchRunInput): Promise<void> {
  try {
    await deps.client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () =>
      deps.client.workflow.start(batchRun, {
        taskQueue: deps.config.taskQueue,
        workflowId: batchWorkflowId(input.batchId),
        args: [{ ...workflowInput(input, deps.config.batchLimits), ...BOOKKEEPING }],
        typedSearchAttributes: batchSearchAttributes(input),
      }),
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
