/**
 * Batch preparation, shared by every way a batch starts (the gateway's triggers, a schedule's
 * firing, an agent's run): resolve flows, suites, app, build and variables into the batch
 * workflow's input, and derive its ids. It writes no batch or run and starts nothing.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { In, IsNull, type DataSource, type EntityManager } from 'typeorm';
import { AppEntity, BatchEntity, BuildEntity, FlowEntity, RunEntity, SuiteEntity, type App, type Build, type Run, type Suite } from '../db/entities';
import { platformSecret } from '../db/data-source';
import { suitesOfFlow } from '../db/suites';
import { ConflictError, InvalidError, NotFoundError, type FieldPath } from '../domain/errors';
import type { WebhookTarget } from '../domain/webhooks';
import type { Actor, BatchPlan, BatchRunInput, FlowRunInput, PlannedFlow, Tag } from '../domain/flow-types';
import { DEFAULT_BATCH_LIMITS, matrixCombos, matrixSize, MAX_BATCH_RUNS, plannedAt } from '../domain/batch-plan';
import { secretNames } from '../domain/secrets';
import type { RunSource } from '../domain/statuses';

/** Who starts a batch: the account it runs in and the key (or schedule) it is recorded as started by. */
export interface BatchCaller {
  accountId: string;
  keyId: string;
  keyName: string;
}

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
export const requestHash = (request: unknown): string => sha256(JSON.stringify(request ?? null));

/**
 * A batch id derived from the key, so a retry after any crash lands on the same workflow id. Keyed
 * by a platform secret, so another account cannot compute the id in advance and claim it.
 */
export function idempotentId(secret: string, accountId: string, key: string): string {
  const h = createHmac('sha256', secret).update(`${accountId}\n${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A batch already written, as a trigger answers it; null when the account has none by that id. */
export async function existingBatch(m: EntityManager, accountId: string, batchId: string): Promise<TriggeredBatch | null> {
  const batch = await m.findOne(BatchEntity, { where: { id: batchId, accountId } });
  if (!batch) return null;
  const runs = await m.find(RunEntity, {
    where: { batchId },
    order: { position: 'ASC' },
    select: { publicId: true, flowId: true, flowName: true, status: true, createdAt: true },
  });
  return { batchId, createdAt: batch.createdAt, source: batch.source, runs: runs.map(({ publicId, ...r }) => ({ ...r, id: publicId })) };
}

/** The app a trigger names, by id or by bundle; null when it names none. */
export async function resolveApp(m: EntityManager, accountId: string, req: TriggerRequest): Promise<App | null> {
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

/** The build that runs: the one named, else the app's active build. */
export async function resolveBuild(m: EntityManager, app: App | null, req: TriggerRequest): Promise<Build | null> {
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
export async function planRuns(m: EntityManager, accountId: string, req: TriggerRequest): Promise<PlannedRun[]> {
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
  deps: { dataSource: DataSource },
  auth: BatchCaller,
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
