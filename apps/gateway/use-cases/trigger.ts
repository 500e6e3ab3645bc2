/**
 * Accepting a trigger: resolve flows, app, build and variables, write the batch and its runs,
 * and start the batch workflow — all or nothing, and at most once per Idempotency-Key.
 */
import { createHash, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { In, IsNull, type EntityManager } from 'typeorm';
import { insertBatchRows } from '../../../db/projections';
import { AppEntity, BatchEntity, BuildEntity, FlowEntity, RunEntity, SuiteEntity, type App, type Build, type Run, type Suite } from '../../../db/entities';
import type { Actor, BatchRunInput, FlowRunInput, Tag } from '../../../domain/flow-types';
import type { RunSource } from '../../../domain/statuses';
import { batchWorkflowId } from '../../../workflows/definitions';
import { ACCOUNT_ID, BATCH_ID, FLOW_ID, RUN_SOURCE } from '../../../workflows/search-attributes';
import type { GatewayDeps } from '../deps';
import type { AuthContext } from '../http/auth';
import { badRequest, conflict, HttpError, notFound } from '../http/errors';
import { suitesOfFlow } from './suites';

export interface TriggerRequest {
  /** Suites whose flows all run, in suite order, each with its suite's context. */
  suiteIds?: string[];
  flowIds: string[];
  /**
   * Whether a flow given by id gets its suite's auth flow and variables: true (seed 000's default)
   * answers 400 for a flow in several suites without an override; 'when-unambiguous' (the default
   * for the other surfaces) uses the suite only when there is exactly one; false never does.
   */
  resolveSuiteContext?: boolean | 'when-unambiguous';
  /** `{ flowId: suiteId }` for flows in several suites. */
  suiteOverrides?: Record<string, string>;
  /** Run ids chosen by the client (seed 002 `id`), one per flow; generated when absent. */
  runIds?: string[];
  /** Per-trigger overrides of the flows' configs (seed 001 `configs.end_on_fail`). */
  endOnFail?: boolean;
  /** Runs the children on this task queue (an agent's) instead of the workers' default. */
  taskQueue?: string;
  /** Where each flow id came from in the request, for error locations. */
  flowLoc: (i: number) => (string | number)[];
  appId?: string;
  bundle?: { bundleId: string; platform: string };
  buildId?: string;
  env: Record<string, string>;
  browser: string | null;
  source: RunSource;
  /** Who triggered it; the caller's key when absent. */
  actor?: Actor;
  tags: Tag[];
  maxParallel: number;
  data: unknown;
  idempotencyKey?: string;
  /** The request as the client sent it, hashed to detect a reused Idempotency-Key. */
  fingerprint: unknown;
}

export interface TriggeredBatch {
  batchId: string;
  createdAt: Date;
  source: string;
  runs: Pick<Run, 'id' | 'flowId' | 'flowName' | 'status' | 'createdAt'>[];
  /** True when an earlier request with the same Idempotency-Key created it. */
  replayed: boolean;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A batch id derived from the key, so a retry after any crash lands on the same workflow id. */
function idempotentId(accountId: string, key: string): string {
  const h = sha256(`${accountId}\n${key}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

async function existingBatch(m: EntityManager, accountId: string, batchId: string): Promise<TriggeredBatch | null> {
  const batch = await m.findOne(BatchEntity, { where: { id: batchId, accountId } });
  if (!batch) return null;
  const runs = await m.find(RunEntity, {
    where: { batchId },
    order: { position: 'ASC' },
    select: { id: true, flowId: true, flowName: true, status: true, createdAt: true },
  });
  return { batchId, createdAt: batch.createdAt, source: batch.source, runs, replayed: true };
}

async function resolveApp(m: EntityManager, accountId: string, req: TriggerRequest): Promise<App | null> {
  if (req.appId) {
    const app = await m.findOne(AppEntity, { where: { id: req.appId, accountId } });
    if (!app) throw notFound(`app ${req.appId}`, ['body', 'app_id']);
    return app;
  }
  if (req.bundle) {
    const app = await m.findOne(AppEntity, {
      where: { accountId, bundleId: req.bundle.bundleId, platform: req.bundle.platform as App['platform'] },
    });
    if (!app) throw notFound(`${req.bundle.platform} app with bundle_id ${req.bundle.bundleId}`, ['body', 'bundle_id']);
    return app;
  }
  return null;
}

async function resolveBuild(m: EntityManager, app: App | null, req: TriggerRequest): Promise<Build | null> {
  if (req.buildId) {
    const build = app ? await m.findOne(BuildEntity, { where: { id: req.buildId, appId: app.id } }) : null;
    if (!build) throw notFound(`build ${req.buildId} of this app`, ['body', 'app_build_id']);
    return build;
  }
  if (app?.activeBuildId) return m.findOne(BuildEntity, { where: { id: app.activeBuildId, appId: app.id } });
  return null;
}

interface PlannedRun {
  flowId: string;
  /** Where the flow came from in the request, for error locations. */
  loc: (string | number)[];
  suite: Suite | null;
}

/** The flows to run, each with the suite whose context it gets; a flow asked for twice runs once. */
async function planRuns(m: EntityManager, accountId: string, req: TriggerRequest): Promise<PlannedRun[]> {
  const planned: PlannedRun[] = [];
  const add = (p: PlannedRun) => {
    if (!planned.some((q) => q.flowId === p.flowId)) planned.push(p);
  };
  for (const [i, suiteId] of (req.suiteIds ?? []).entries()) {
    const loc = ['body', 'suite_ids', i];
    const suite = await m.findOne(SuiteEntity, { where: { accountId, id: suiteId } });
    if (!suite) throw notFound(`suite ${suiteId}`, loc);
    if (suite.flowIds.length === 0) throw badRequest(`suite ${suiteId} has no flows`, loc);
    for (const flowId of suite.flowIds) add({ flowId, loc, suite });
  }
  const mode = req.resolveSuiteContext ?? 'when-unambiguous';
  for (const [i, flowId] of req.flowIds.entries()) {
    const loc = req.flowLoc(i);
    if (mode === false) {
      add({ flowId, loc, suite: null });
      continue;
    }
    const suites = await suitesOfFlow(m, accountId, flowId);
    const override = req.suiteOverrides?.[flowId];
    let suite: Suite | null = null;
    if (override) {
      suite = suites.find((s) => s.id === override) ?? null;
      if (!suite) throw badRequest(`flow ${flowId} is not in suite ${override}`, ['body', 'suite_overrides', flowId]);
    } else if (suites.length === 1) {
      suite = suites[0];
    } else if (suites.length > 1 && mode === true) {
      throw badRequest(
        `flow ${flowId} belongs to several suites (${suites.map((s) => s.id).join(', ')}); choose one with suite_overrides`,
        loc,
        'ambiguous_suite',
      );
    }
    add({ flowId, loc, suite });
  }
  return planned;
}

/** Resolves a trigger into the batch workflow's input, without writing or starting anything. */
export async function prepareBatch(
  deps: Pick<GatewayDeps, 'dataSource'>,
  auth: AuthContext,
  req: TriggerRequest,
  m: EntityManager = deps.dataSource.manager,
  batchId: string = randomUUID(),
): Promise<BatchRunInput> {
  const planned = await planRuns(m, auth.accountId, req);
  const wanted = [...planned.map((p) => p.flowId), ...planned.flatMap((p) => (p.suite?.authFlowId ? [p.suite.authFlowId] : []))];
  const flows = await m.find(FlowEntity, { where: { accountId: auth.accountId, id: In(wanted), deletedAt: IsNull() } });
  const byId = new Map(flows.map((f) => [f.id, f]));
  for (const p of planned) {
    if (!byId.has(p.flowId)) throw notFound(`flow ${p.flowId}`, p.loc);
    if (p.suite?.authFlowId && !byId.has(p.suite.authFlowId))
      throw conflict(`the auth flow ${p.suite.authFlowId} of suite ${p.suite.id} no longer exists`, p.loc);
  }
  if (req.runIds) {
    const taken = await m.find(RunEntity, { where: { id: In(req.runIds) }, select: { id: true } });
    if (taken.length > 0) throw conflict(`run ${taken[0].id} already exists`, ['body', 'id']);
  }

  const app = await resolveApp(m, auth.accountId, req);
  const build = await resolveBuild(m, app, req);
  if (build && Object.keys(req.env).length > 0) {
    build.variables = { ...build.variables, ...req.env };
    await m.update(BuildEntity, { id: build.id }, { variables: build.variables });
  }
  const runs: FlowRunInput[] = planned.map(({ flowId, suite }, position) => {
    const flow = byId.get(flowId)!;
    const authFlow = suite?.authFlowId ? byId.get(suite.authFlowId)!.definition : undefined;
    const definition = req.endOnFail === undefined ? flow.definition : { ...flow.definition, configs: { ...flow.definition.configs, endOnFail: req.endOnFail } };
    const runId = req.runIds?.[position] ?? (req.idempotencyKey ? idempotentId(auth.accountId, `${req.idempotencyKey}#${position}`) : randomUUID());
    return {
      runId,
      batchId,
      accountId: auth.accountId,
      source: req.source,
      position,
      flow: definition,
      flowVersion: flow.version,
      variables: {
        ...authFlow?.variables,
        ...flow.definition.variables,
        ...suite?.variables,
        ...app?.variables,
        ...build?.variables,
        ...req.env,
      },
      trigger: { body: req.data ?? null },
      ...(suite ? { suiteId: suite.id } : {}),
      ...(authFlow ? { authFlow } : {}),
      ...(req.taskQueue ? { taskQueue: req.taskQueue } : {}),
    };
  });
  return {
    batchId,
    accountId: auth.accountId,
    source: req.source,
    maxParallel: req.maxParallel,
    meta: {
      actor: req.actor ?? { id: auth.keyId, name: auth.keyName, type: 'user' },
      appId: app?.id ?? null,
      buildId: build?.id ?? null,
      browser: app && app.platform !== 'web' ? null : req.browser,
      tags: req.tags,
      idempotencyKey: req.idempotencyKey ?? null,
      requestHash: req.idempotencyKey ? sha256(JSON.stringify(req.fingerprint ?? null)) : null,
    },
    runs,
  };
}

/** Search attributes of a batch workflow, so operators can find it in the Temporal UI. */
export const batchSearchAttributes = (input: BatchRunInput) => [
  { key: BATCH_ID, value: input.batchId },
  { key: ACCOUNT_ID, value: input.accountId },
  { key: RUN_SOURCE, value: input.source },
  { key: FLOW_ID, value: [...new Set(input.runs.map((r) => r.flow.id))].join(',') },
];

export async function triggerBatch(deps: GatewayDeps, auth: AuthContext, req: TriggerRequest): Promise<TriggeredBatch> {
  const { dataSource, client, config } = deps;
  const batchId = req.idempotencyKey ? idempotentId(auth.accountId, req.idempotencyKey) : randomUUID();

  if (req.idempotencyKey) {
    const requestHash = sha256(JSON.stringify(req.fingerprint ?? null));
    const prior = await dataSource.getRepository(BatchEntity).findOne({ where: { id: batchId, accountId: auth.accountId } });
    if (prior && prior.requestHash !== requestHash)
      throw new HttpError(422, 'Idempotency-Key was already used with a different request', [
        { loc: ['header', 'Idempotency-Key'], msg: 'reused with a different request body', type: 'idempotency_key_reused' },
      ]);
    if (prior) return (await existingBatch(dataSource.manager, auth.accountId, batchId))!;
  }

  return dataSource.transaction(async (m) => {
    const input = await prepareBatch(deps, auth, req, m, batchId);
    await insertBatchRows(m, input);
    if (req.runIds) {
      // A concurrent trigger may have taken a client-chosen id between the check and the insert.
      const ours = await m.count(RunEntity, { where: { id: In(req.runIds), batchId } });
      if (ours !== req.runIds.length) throw conflict('a run with this id already exists', ['body', 'id']);
    }
    try {
      await client.workflow.start('batchRun', {
        taskQueue: config.taskQueue,
        workflowId: batchWorkflowId(batchId),
        args: [input],
        typedSearchAttributes: batchSearchAttributes(input),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError))
        throw new HttpError(503, `could not start the run on Temporal, nothing was accepted; retry: ${(err as Error).message}`);
    }
    const created = await existingBatch(m, auth.accountId, batchId);
    return { ...created!, replayed: false };
  });
}
