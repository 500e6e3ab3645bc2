/**
 * FlowRun objects over the platform's runs: a FlowRun is one run of a flow for a site (an app),
 * started as a batch of one through the run core's trigger, read through the same reconciler
 * and step merge as every surface, and deleted only once its workflow has stopped writing.
 * Errors name `id`, `siteId` and the trigger's fields.
 */
import { NotFoundError } from '../../../../domain/errors';
import type { AuthContext, RunDeps } from '../../deps';
import { deleteRun } from '../../runs/delete';
import { logsOfRuns, stepsOfRuns } from '../../runs/queries';
import type { LiveRun } from '../../runs/reconcile';
import { triggerBatch } from '../../runs/trigger';
import { mergeSteps } from '../../runs/views';
import * as q from './queries';
import { flowRunView, type FlowRunObject } from './views';

const notFoundRun = () => new NotFoundError('flowrun', ['id']);

/** Objects for reconciled runs; `progress` (one object's read only) carries the live step states. */
async function objectsOf(deps: RunDeps, accountId: string, live: readonly LiveRun[], baseUrl: string): Promise<FlowRunObject[]> {
  const db = deps.dataSource;
  const ids = live.map((l) => l.run.id);
  const [definitions, logs, steps] = await Promise.all([
    q.definitionsOf(db, accountId, live.map((l) => l.run)),
    logsOfRuns(db, ids),
    stepsOfRuns(db, ids),
  ]);
  return live.map((l) =>
    flowRunView({
      live: l,
      definition: definitions.get(q.definitionKey(l.run)) ?? null,
      steps: mergeSteps(steps.get(l.run.id) ?? [], l.progress),
      logs: logs.get(l.run.id) ?? [],
      baseUrl,
    }),
  );
}

/** One FlowRun, with live step states while the workflow runs. */
export async function getFlowRun(deps: RunDeps, accountId: string, id: string, baseUrl: string): Promise<FlowRunObject> {
  const run = await q.findFlowRun(deps.dataSource, accountId, id);
  if (!run) throw notFoundRun();
  const [object] = await objectsOf(deps, accountId, [await deps.reconciler.reconcileOne(run)], baseUrl);
  return object!;
}

export interface CreateFlowRun {
  siteId: string;
  flowId: string;
  /** Overrides the flow's own setting. */
  endOnFail?: boolean;
  idempotency?: { key: string; request: unknown };
}

/**
 * Starts the flow for the site. The request is kept as the run's trigger data, which is how
 * the object later knows the `end_on_fail` it was asked for.
 */
export async function createFlowRun(deps: RunDeps, auth: AuthContext, input: CreateFlowRun, baseUrl: string): Promise<FlowRunObject> {
  if (!(await q.siteExists(deps.dataSource, auth.accountId, input.siteId))) throw new NotFoundError(`site ${input.siteId}`, ['siteId']);
  const { endOnFail } = input;
  const batch = await triggerBatch(deps, auth, {
    flowIds: [input.flowId],
    appId: input.siteId,
    ...(endOnFail === undefined ? {} : { endOnFail }),
    data: { site_id: input.siteId, flow_id: input.flowId, configs: endOnFail === undefined ? {} : { end_on_fail: endOnFail } },
    idempotency: input.idempotency,
  });
  const run = batch.runs[0];
  if (!run) throw notFoundRun();
  return getFlowRun(deps, auth.accountId, run.id, baseUrl);
}

/** The account's FlowRuns (or one site's), newest first, `limit` from `offset`. */
export async function listFlowRuns(
  deps: RunDeps,
  accountId: string,
  page: { limit: number; offset: number; siteId?: string },
  baseUrl: string,
): Promise<{ count: number; results: FlowRunObject[] }> {
  if (page.siteId !== undefined && !(await q.siteExists(deps.dataSource, accountId, page.siteId)))
    throw new NotFoundError(`site ${page.siteId}`, ['siteId']);
  const { count, runs } = await q.pageFlowRuns(deps.dataSource, { accountId, ...page });
  return { count, results: await objectsOf(deps, accountId, await deps.reconciler.reconcileMany(runs), baseUrl) };
}

/**
 * Stops the run's workflow (and its batch, when the batch is this run alone), then deletes the
 * run with its steps, logs and requests, and the batch left empty.
 */
export async function deleteFlowRun(deps: RunDeps, accountId: string, id: string): Promise<void> {
  const run = await q.findFlowRun(deps.dataSource, accountId, id);
  if (!run) throw notFoundRun();
  if (!(await deleteRun(deps, run, 'flowrun'))) throw notFoundRun();
}
