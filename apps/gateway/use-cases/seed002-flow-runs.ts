/**
 * Seed 002 flow-runs over the one run model: a flow-run is a platform run (a batch of one when the
 * platform executes it, `external` with no batch when an outside executor reports it). Starting goes
 * through triggerBatch, reading through the reconciler, cancelling through Temporal, as on every surface.
 */
import type { EntityManager } from 'typeorm';
import { FlowEntity, RunEntity, RunLogEntity, StepRunEntity } from '../../../db/entities';
import type { Json, Run, RunLog, StepRun } from '../../../db/entities';
import type { FlowType, Tag } from '../../../domain/flow-types';
import type { RunStatus, StepStatus } from '../../../domain/statuses';
import type { GatewayDeps } from '../deps';
import type { AuthContext } from '../http/auth';
import { decodeCursor, encodeCursor } from '../http/cursor';
import { conflict, HttpError, notFound } from '../http/errors';
import { validationError } from '../http/validation';
import type { RunReconciler } from './reconcile';
import { deleteRun } from './run-delete';
import * as rq from './run-queries';
import { mergeSteps, presentedStatus } from './run-views';
import * as q from './seed002-queries';
import { flowRunView, type FlowRunView } from './seed002-views';
import { triggerBatch } from './trigger';

export interface FlowRunDeps extends GatewayDeps {
  reconciler: RunReconciler;
}

/** A whole page carries at most this many log lines per run; one run's object carries up to DETAIL_LOGS. */
const LIST_LOGS = 100;
const DETAIL_LOGS = 5000;

const runNotFound = () => notFound('flow-run', ['path', 'id']);

/** Seed 002 answers every client mistake 422, cursors and headers included. */
const unprocessable = (err: unknown): never => {
  if (err instanceof HttpError && err.status === 400) throw new HttpError(422, err.message, err.detail, err.headers);
  throw err;
};

async function loadView(deps: FlowRunDeps, run: Run): Promise<FlowRunView> {
  const live = await deps.reconciler.reconcileOne(run);
  const [rows, logs] = await Promise.all([rq.findSteps(deps.dataSource, run.id), q.logsOfRun(deps.dataSource, run.id, DETAIL_LOGS)]);
  return flowRunView(live, mergeSteps(rows, live.progress), logs);
}

/** One flow-run, live: the run detail path of seed 000 (reconciled, steps from the progress query). */
export async function getFlowRun(deps: FlowRunDeps, accountId: string, id: string): Promise<FlowRunView> {
  const run = await rq.findRun(deps.dataSource, accountId, id);
  if (!run) throw runNotFound();
  return loadView(deps, run);
}

export interface ListQuery {
  cursor?: string;
  size: number;
  flowId?: string;
  phase?: RunStatus;
}

const encode = (pos: q.SlicePosition): string =>
  encodeCursor([pos.dir, pos.inclusive ? 1 : 0, pos.key?.[0] ?? '', pos.key?.[1] ?? '']);

function decode(cursor: string): q.SlicePosition {
  let key: (string | number)[] = [];
  try {
    key = decodeCursor(cursor, 4);
  } catch (err) {
    unprocessable(err);
  }
  const [dir, inclusive, ts, id] = key;
  const bounded = ts !== '' || id !== '';
  if (
    (dir === 'f' || dir === 'b') &&
    (inclusive === 0 || inclusive === 1) &&
    typeof ts === 'string' &&
    typeof id === 'string' &&
    (!bounded || (id !== '' && !Number.isNaN(Date.parse(ts))))
  )
    return { dir, inclusive: inclusive === 1, key: bounded ? [new Date(ts).toISOString(), id] : null };
  throw new HttpError(422, 'cursor is not valid; pass a cursor returned by this endpoint', [
    { loc: ['query', 'cursor'], msg: 'not a cursor of this endpoint', type: 'cursor_invalid' },
  ]);
}

/**
 * Seed 002 list: newest first on (created_at, id). Every cursor is a keyset position plus a
 * direction, so `previous_page` walks back and no page shifts when runs are inserted meanwhile.
 */
export async function listFlowRuns(deps: FlowRunDeps, accountId: string, query: ListQuery) {
  const db = deps.dataSource;
  const filter: q.RunFilter = { accountId, flowId: query.flowId, status: query.phase };
  const pos: q.SlicePosition = query.cursor ? decode(query.cursor) : { dir: 'f', key: null, inclusive: false };
  const [{ runs, more }, total] = await Promise.all([q.runSlice(db, filter, pos, query.size), q.countRuns(db, filter)]);

  let current_page: string;
  let current_page_backwards: string;
  let previous_page: string | null = null;
  let next_page: string | null = null;
  if (runs.length > 0) {
    const first = q.runKey(runs[0]!);
    const last = q.runKey(runs[runs.length - 1]!);
    const [hasNext, hasPrevious] = await Promise.all([
      pos.dir === 'f' ? more : q.anyBeyond(db, filter, 'f', last, false),
      pos.dir === 'b' ? more : pos.key ? q.anyBeyond(db, filter, 'b', first, false) : false,
    ]);
    current_page = encode({ dir: 'f', key: first, inclusive: true });
    current_page_backwards = encode({ dir: 'b', key: last, inclusive: true });
    if (hasNext) next_page = encode({ dir: 'f', key: last, inclusive: false });
    if (hasPrevious) previous_page = encode({ dir: 'b', key: first, inclusive: false });
  } else {
    current_page = query.cursor ?? encode({ dir: 'f', key: null, inclusive: false });
    current_page_backwards = query.cursor ?? encode({ dir: 'b', key: null, inclusive: false });
    if (pos.key) {
      const back = pos.dir === 'f' ? 'b' : 'f';
      if (await q.anyBeyond(db, filter, back, pos.key, !pos.inclusive)) {
        const turn = encode({ dir: back, key: pos.key, inclusive: !pos.inclusive });
        if (back === 'b') previous_page = turn;
        else next_page = turn;
      }
    }
  }

  const ids = runs.map((r) => r.id);
  const [live, steps, logs] = await Promise.all([
    deps.reconciler.reconcileMany(runs),
    q.stepsOfRuns(db, ids),
    q.logsOfRuns(db, ids, LIST_LOGS),
  ]);
  const items = live.map((l) => flowRunView(l, mergeSteps(steps.get(l.run.id) ?? [], null), logs.get(l.run.id) ?? []));
  return { items, total, current_page, current_page_backwards, previous_page, next_page };
}

export interface CreateInput {
  id?: string;
  flowId: string;
  args?: unknown;
  tags?: Tag[];
  idempotencyKey?: string;
  /** The request as sent, so a reused Idempotency-Key with another body is refused. */
  fingerprint: unknown;
}

/**
 * Starts the flow as a batch of one; `args` becomes `trigger.body`. The flow's own type is the
 * run's `flowType`: the seed's `flowType` defaults to selfServiceAction, so it cannot override it.
 */
export async function createFlowRun(deps: FlowRunDeps, auth: AuthContext, input: CreateInput): Promise<FlowRunView> {
  const batch = await triggerBatch(deps, auth, {
    flowIds: [input.flowId],
    ...(input.id !== undefined ? { runIds: [input.id] } : {}),
    flowLoc: () => ['body', 'flowId'],
    env: {},
    browser: null,
    source: 'api',
    tags: input.tags ?? [],
    maxParallel: 1,
    data: input.args ?? null,
    idempotencyKey: input.idempotencyKey,
    fingerprint: input.fingerprint,
  }).catch(unprocessable);
  const runId = batch.runs[0]?.id;
  if (!runId) throw runNotFound();
  return getFlowRun(deps, auth.accountId, runId);
}

export interface ActionInput {
  id: string;
  phase: StepStatus;
  startTime?: string | null;
  endTime?: string | null;
  name?: string;
  type?: string;
  output?: unknown;
  error?: unknown;
}

export interface LogInput {
  timestamp?: string | null;
  message: string;
  level: RunLog['level'];
  action?: string | null;
}

export interface UpsertInput {
  id?: string;
  flowId: string;
  flowType: FlowType;
  args?: unknown;
  phase?: RunStatus | null;
  startTime?: string | null;
  endTime?: string | null;
  actions?: ActionInput[];
  outputs?: unknown;
  logs?: LogInput[];
  tags?: Tag[];
}

const toDate = (s: string | null | undefined): Date | null => (s ? new Date(s) : null);
const durationOf = (start: Date | null, end: Date | null): number | null =>
  start && end ? Math.max(0, end.getTime() - start.getTime()) : null;
const CHUNK = 1000;

/** Replaces the run's steps with `actions`, position = index; a step no longer reported is removed. */
async function writeActions(m: EntityManager, runId: string, actions: ActionInput[]): Promise<void> {
  await m.query('DELETE FROM step_runs WHERE run_id = $1 AND NOT (step_id = ANY($2::text[]))', [runId, actions.map((a) => a.id)]);
  const rows: Partial<StepRun>[] = actions.map((a, position) => {
    const startedAt = toDate(a.startTime);
    const finishedAt = toDate(a.endTime);
    return {
      runId,
      stepId: a.id,
      position,
      name: a.name ?? a.id,
      type: a.type ?? 'external',
      status: a.phase,
      attempts: startedAt ? 1 : 0,
      startedAt,
      finishedAt,
      durationMs: durationOf(startedAt, finishedAt),
      output: (a.output ?? null) as Json,
      error: a.error === undefined || a.error === null ? null : typeof a.error === 'string' ? a.error : JSON.stringify(a.error),
    };
  });
  for (let i = 0; i < rows.length; i += CHUNK)
    await m
      .createQueryBuilder()
      .insert()
      .into(StepRunEntity)
      .values(rows.slice(i, i + CHUNK))
      .orUpdate(['position', 'name', 'type', 'status', 'attempts', 'started_at', 'finished_at', 'duration_ms', 'output', 'error'], ['run_id', 'step_id'])
      .execute();
}

/** Replaces the run's log; keys come from the index, so re-sending the same log never duplicates it. */
async function writeLogs(m: EntityManager, runId: string, logs: LogInput[], now: Date): Promise<void> {
  const rows: RunLog[] = logs.map((l, i) => ({
    runId,
    key: `report.${String(i).padStart(6, '0')}`,
    ts: toDate(l.timestamp) ?? now,
    level: l.level,
    stepId: l.action ?? null,
    message: l.message,
  }));
  await m.query('DELETE FROM run_logs WHERE run_id = $1 AND NOT (key = ANY($2::text[]))', [runId, rows.map((r) => r.key)]);
  for (let i = 0; i < rows.length; i += CHUNK)
    await m
      .createQueryBuilder()
      .insert()
      .into(RunLogEntity)
      .values(rows.slice(i, i + CHUNK))
      .orUpdate(['ts', 'level', 'step_id', 'message'], ['run_id', 'key'])
      .execute();
}

async function flowName(m: EntityManager, accountId: string, flowId: string): Promise<string> {
  const flow = await m.getRepository(FlowEntity).findOne({ where: { accountId, id: flowId }, withDeleted: true, select: { name: true } });
  return flow?.name ?? flowId;
}

/**
 * Writes a run an outside executor reports. A field left out of the body keeps its stored value,
 * so an executor may report progress piece by piece; `actions` and `logs`, when sent, replace.
 */
async function writeExternal(m: EntityManager, auth: AuthContext, id: string, body: UpsertInput, existing: Run | null): Promise<boolean> {
  const now = new Date();
  const startedAt = body.startTime !== undefined ? toDate(body.startTime) : (existing?.startedAt ?? null);
  const finishedAt = body.endTime !== undefined ? toDate(body.endTime) : (existing?.finishedAt ?? null);
  const status: RunStatus = body.phase ?? existing?.status ?? (startedAt ? 'running' : 'queued');
  const fields: Partial<Run> = {
    flowId: body.flowId,
    flowName: await flowName(m, auth.accountId, body.flowId),
    flowType: body.flowType,
    status,
    startedAt,
    finishedAt,
    durationMs: durationOf(startedAt, finishedAt),
    updatedAt: now,
    updatedBy: auth.keyId,
    ...(body.args !== undefined ? { triggerData: (body.args ?? null) as Json } : {}),
    ...(body.outputs !== undefined ? { outputs: (body.outputs ?? null) as Json } : {}),
    ...(body.tags !== undefined ? { tags: body.tags } : {}),
  };
  if (existing) await m.getRepository(RunEntity).update({ id }, fields);
  else {
    const inserted = await m
      .createQueryBuilder()
      .insert()
      .into(RunEntity)
      .values({
        triggerData: null,
        outputs: null,
        tags: [],
        ...fields,
        id,
        accountId: auth.accountId,
        batchId: null,
        position: 0,
        flowVersion: null,
        source: 'api',
        actor: { id: auth.keyId, name: auth.keyName, type: 'user' },
        variables: {},
        error: null,
        external: true,
        workflowId: null,
        workflowRunId: null,
        createdBy: auth.keyId,
      })
      .orIgnore()
      .execute();
    if ((inserted.raw as unknown[]).length === 0) return false;
  }
  if (body.actions !== undefined) await writeActions(m, id, body.actions);
  if (body.logs !== undefined) await writeLogs(m, id, body.logs, now);
  const failedStep = status === 'failed' || status === 'timed_out' ? await q.firstFailedStep(m, id) : null;
  const error = failedStep ? { step: failedStep.name, message: failedStep.error ?? `step ${status}` } : null;
  await m.getRepository(RunEntity).update({ id }, { error: error as Json });
  return true;
}

/**
 * A run the platform executes belongs to its workflow: only its tags change. `flowId`, `flowType`
 * and a non-null `phase` must agree with the run (409 otherwise), so a client that read the
 * object, changed its tags and sent it back succeeds; the reported fields (args, times, actions,
 * outputs, logs) are ignored, as the workflow's own records are authoritative.
 */
async function updatePlatformRun(deps: FlowRunDeps, auth: AuthContext, run: Run, body: UpsertInput): Promise<void> {
  if (body.flowId !== run.flowId) throw conflict(`flow-run ${run.id} runs flow ${run.flowId}; its flowId cannot change`, ['body', 'flowId']);
  if (body.flowType !== run.flowType)
    throw conflict(`flow-run ${run.id} is of type ${run.flowType}; its flowType cannot change`, ['body', 'flowType']);
  const phase = presentedStatus(await deps.reconciler.reconcileOne(run));
  if (body.phase != null && body.phase !== phase)
    throw conflict(`flow-run ${run.id} is executed by the platform and is ${phase}; its phase cannot be set`, ['body', 'phase']);
  if (body.tags !== undefined)
    await deps.dataSource.getRepository(RunEntity).update({ id: run.id }, { tags: body.tags, updatedAt: new Date(), updatedBy: auth.keyId });
}

/**
 * PUT: creates or updates a run reported by an outside executor (external, no batch), or retags
 * a run the platform executes. An id held by another account is taken, as on POST: 409.
 */
export async function upsertFlowRun(deps: FlowRunDeps, auth: AuthContext, id: string, body: UpsertInput): Promise<FlowRunView> {
  if (body.id !== undefined && body.id !== id)
    throw validationError([{ loc: ['body', 'id'], msg: `must equal the id in the path (${id})`, type: 'value_error' }], 422);
  const platformRun = await deps.dataSource.transaction(async (m) => {
    const lockRun = () => m.getRepository(RunEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
    let existing = await lockRun();
    if (!existing) {
      if (await writeExternal(m, auth, id, body, null)) return null;
      existing = await lockRun();
      if (!existing) throw conflict(`flow-run ${id} was deleted meanwhile; retry`, ['path', 'id']);
    }
    if (existing.accountId !== auth.accountId) throw conflict(`flow-run id ${id} is already in use`, ['path', 'id']);
    if (!existing.external) return existing;
    await writeExternal(m, auth, id, body, existing);
    return null;
  });
  if (platformRun) await updatePlatformRun(deps, auth, platformRun, body);
  return getFlowRun(deps, auth.accountId, id);
}

/** Deletes a run with its steps, logs and requests (cascade), and its batch when it was the batch's only run. */
export async function deleteFlowRun(deps: FlowRunDeps, accountId: string, id: string): Promise<void> {
  const run = await rq.findRun(deps.dataSource, accountId, id);
  if (!run) throw runNotFound();
  await deleteRun(deps, accountId, run, 'flow-run');
}
