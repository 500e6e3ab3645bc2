/**
 * Seed 001 FlowRuns over the platform's runs: a FlowRun is one run of a flow for a site (an
 * app), started as a batch of one through `triggerBatch`, read through the same reconciler
 * and step merge as seed 000, and deleted only once its workflow has stopped writing.
 */
import { In, type DataSource } from 'typeorm';
import { AppEntity, RunEntity, RunLogEntity, StepRunEntity } from '../../../db/entities';
import type { FlowDefinition } from '../../../domain/flow-types';
import type { Run, RunLog } from '../../../db/entities';
import type { GatewayDeps } from '../deps';
import type { AuthContext } from '../http/auth';
import { notFound } from '../http/errors';
import type { LiveRun, RunReconciler } from './reconcile';
import { deleteRun } from './run-delete';
import * as q from './run-queries';
import { mergeSteps } from './run-views';
import { flowRunView, type FlowRunObject } from './seed001-views';
import { triggerBatch } from './trigger';

export interface Seed001Deps extends GatewayDeps {
  reconciler: RunReconciler;
}

export interface CreateFlowRun {
  site_id: string;
  flow_id: string;
  configs?: { end_on_fail?: boolean } | null;
}

/** The path every absolute `next` / `previous` link points at. */
export const FLOWRUN_PATH = '/v1/ops/flowrun';

const notFoundRun = () => notFound('flowrun', ['path', 'id']);

/** A FlowRun needs a site: runs started without an app are not FlowRuns. */
async function findFlowRun(db: DataSource, accountId: string, id: string): Promise<Run | null> {
  const run = await q.findRun(db, accountId, id);
  return run && run.appId !== null ? run : null;
}

/** The definitions the runs ran with, one query for a whole page. */
async function definitionsOf(db: DataSource, accountId: string, runs: readonly Run[]): Promise<Map<string, FlowDefinition>> {
  const pinned = runs.filter((r) => r.flowVersion !== null);
  const out = new Map<string, FlowDefinition>();
  if (pinned.length === 0) return out;
  const rows: { flow_id: string; version: number; definition: FlowDefinition }[] = await db.query(
    `SELECT fv.flow_id, fv.version, fv.definition
       FROM flow_versions fv
       JOIN unnest($2::text[], $3::int[]) AS want(flow_id, version) ON want.flow_id = fv.flow_id AND want.version = fv.version
      WHERE fv.account_id = $1`,
    [accountId, pinned.map((r) => r.flowId), pinned.map((r) => r.flowVersion)],
  );
  for (const r of rows) out.set(`${r.flow_id}@${r.version}`, r.definition);
  return out;
}

const definitionKey = (r: Run): string => `${r.flowId}@${r.flowVersion}`;

async function logsOf(db: DataSource, runIds: string[]): Promise<Map<string, RunLog[]>> {
  const out = new Map<string, RunLog[]>(runIds.map((id) => [id, []]));
  if (runIds.length === 0) return out;
  const rows = await db.getRepository(RunLogEntity).find({ where: { runId: In(runIds) }, order: { ts: 'ASC', key: 'ASC' } });
  for (const l of rows) out.get(l.runId)?.push(l);
  return out;
}

/** Objects for reconciled runs; `progress` (detail only) carries the live step states. */
async function objectsOf(db: DataSource, accountId: string, live: readonly LiveRun[]): Promise<FlowRunObject[]> {
  const ids = live.map((l) => l.run.id);
  const [definitions, logs, stepRows] = await Promise.all([
    definitionsOf(db, accountId, live.map((l) => l.run)),
    logsOf(db, ids),
    ids.length ? db.getRepository(StepRunEntity).find({ where: { runId: In(ids) }, order: { position: 'ASC', stepId: 'ASC' } }) : [],
  ]);
  return live.map((l) =>
    flowRunView({
      live: l,
      definition: definitions.get(definitionKey(l.run)) ?? null,
      steps: mergeSteps(stepRows.filter((s) => s.runId === l.run.id), l.progress),
      logs: logs.get(l.run.id) ?? [],
    }),
  );
}

/** `GET /v1/ops/flowrun/{id}`: live step states while the workflow runs, as seed 000's run detail. */
export async function getFlowRun(deps: Seed001Deps, accountId: string, id: string): Promise<FlowRunObject> {
  const run = await findFlowRun(deps.dataSource, accountId, id);
  if (!run) throw notFoundRun();
  const [object] = await objectsOf(deps.dataSource, accountId, [await deps.reconciler.reconcileOne(run)]);
  return object!;
}

/**
 * `POST /v1/ops/flowrun`: the request body is kept as the run's trigger data, which is how
 * the object later knows the `end_on_fail` it was asked for.
 */
export async function createFlowRun(
  deps: Seed001Deps,
  auth: AuthContext,
  body: CreateFlowRun,
  request: { idempotencyKey?: string; fingerprint: unknown },
): Promise<FlowRunObject> {
  const app = await deps.dataSource.getRepository(AppEntity).findOneBy({ id: body.site_id, accountId: auth.accountId });
  if (!app) throw notFound(`site ${body.site_id}`, ['body', 'site_id']);
  const endOnFail = body.configs?.end_on_fail;
  const batch = await triggerBatch(deps, auth, {
    flowIds: [body.flow_id],
    flowLoc: () => ['body', 'flow_id'],
    appId: app.id,
    ...(endOnFail === undefined ? {} : { endOnFail }),
    env: {},
    browser: null,
    source: 'api',
    tags: [],
    maxParallel: 1,
    data: { site_id: app.id, flow_id: body.flow_id, configs: endOnFail === undefined ? {} : { end_on_fail: endOnFail } },
    idempotencyKey: request.idempotencyKey,
    fingerprint: request.fingerprint,
  });
  const run = batch.runs[0];
  if (!run) throw notFoundRun();
  return getFlowRun(deps, auth.accountId, run.id);
}

export interface FlowRunPage {
  count: number;
  next: string | null;
  previous: string | null;
  results: FlowRunObject[];
}

const pageUrl = (baseUrl: string, limit: number, offset: number, siteId?: string): string => {
  const query = new URLSearchParams({ limit: String(limit), offset: String(offset) });
  if (siteId !== undefined) query.set('site_id', siteId);
  return `${baseUrl}${FLOWRUN_PATH}?${query.toString()}`;
};

/**
 * `GET /v1/ops/flowrun`: the seed's limit/offset page over the account's runs that have a
 * site, newest first, with absolute links to the neighbouring pages.
 */
export async function listFlowRuns(
  deps: Seed001Deps,
  accountId: string,
  page: { limit: number; offset: number; site_id?: string },
  baseUrl: string,
): Promise<FlowRunPage> {
  const db = deps.dataSource;
  if (page.site_id !== undefined && !(await db.getRepository(AppEntity).existsBy({ id: page.site_id, accountId })))
    throw notFound(`site ${page.site_id}`, ['query', 'site_id']);
  const qb = db
    .getRepository(RunEntity)
    .createQueryBuilder('r')
    .where('r.account_id = :accountId AND r.app_id IS NOT NULL', { accountId });
  if (page.site_id !== undefined) qb.andWhere('r.app_id = :siteId', { siteId: page.site_id });
  const [count, rows] = await Promise.all([
    qb.clone().getCount(),
    qb.orderBy('r.created_at', 'DESC').addOrderBy('r.id', 'DESC').offset(page.offset).limit(page.limit).getMany(),
  ]);
  const results = await objectsOf(db, accountId, await deps.reconciler.reconcileMany(rows));
  return {
    count,
    next: page.offset + page.limit < count ? pageUrl(baseUrl, page.limit, page.offset + page.limit, page.site_id) : null,
    previous: page.offset > 0 ? pageUrl(baseUrl, page.limit, Math.max(0, page.offset - page.limit), page.site_id) : null,
    results,
  };
}

/**
 * `DELETE /v1/ops/flowrun/{id}`: stops the run's workflow (and its batch, when the batch is
 * this run alone), then deletes the run with its steps, logs and requests, and the batch left empty.
 */
export async function deleteFlowRun(deps: Seed001Deps, accountId: string, id: string): Promise<{ message: string }> {
  const db = deps.dataSource;
  const run = await findFlowRun(db, accountId, id);
  if (!run) throw notFoundRun();
  const deleted = await deleteRun(deps, accountId, run, 'flowrun');
  if (!deleted) throw notFoundRun();
  return { message: 'flowrun deleted successfully' };
}
