/**
 * Action runs over the one run model: an action run is a platform run (a batch of one when the
 * platform executes it, `external` with no batch when an outside executor reports it). Starting
 * goes through the run core's trigger, reading through the reconciler, deleting through the run
 * core's delete, as on every surface. Errors name `id`, `flowId`, `flowType`, `phase`, `cursor`
 * and the trigger's fields.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { z } from 'zod';
import type { Json, Run, RunLog } from '../../../../db/entities';
import { decodeCursor, encodeCursor, timeKey } from '../../../../db/keyset';
import type { LogLine, StepRow } from '../../../../db/projections';
import { ConflictError, InvalidError, NotFoundError } from '../../../../domain/errors';
import type { FlowType, Tag } from '../../../../domain/flow-types';
import type { RunStatus, StepStatus } from '../../../../domain/statuses';
import type { AuthContext, RunDeps } from '../../deps';
import { deleteRun } from '../../runs/delete';
import { findRun, findSteps, logsOfRun, logsOfRuns, stepsOfRuns } from '../../runs/queries';
import { triggerBatch } from '../../runs/trigger';
import { mergeSteps, presentedStatus } from '../../runs/views';
import * as q from './queries';
import { actionRunView, type ActionRun, type actionRunPageSchema } from './views';

/** A whole page carries at most this many log lines per run; one run's object carries up to DETAIL_LOGS. */
const LIST_LOGS = 100;
const DETAIL_LOGS = 5000;

const runNotFound = () => new NotFoundError('flow-run', ['id']);

async function loadView(deps: RunDeps, run: Run): Promise<ActionRun> {
  const live = await deps.reconciler.reconcileOne(run);
  const [rows, logs] = await Promise.all([findSteps(deps.dataSource, run.id), logsOfRun(deps.dataSource, run.id, DETAIL_LOGS)]);
  return actionRunView(live, mergeSteps(rows, live.progress), logs);
}

/** One action run, live: reconciled, its steps from the workflow's progress while it runs. */
export async function getActionRun(deps: RunDeps, accountId: string, id: string): Promise<ActionRun> {
  const run = await findRun(deps.dataSource, accountId, id);
  if (!run) throw runNotFound();
  return loadView(deps, run);
}

export interface ListQuery {
  cursor?: string;
  size: number;
  flowId?: string;
  phase?: RunStatus;
}

const encode = (pos: q.SlicePosition): string => encodeCursor([pos.dir, pos.inclusive ? 1 : 0, pos.key?.[0] ?? '', pos.key?.[1] ?? '']);

function decode(cursor: string): q.SlicePosition {
  const [dir, inclusive, ts, id] = decodeCursor(cursor, 4);
  const bounded = ts !== '' || id !== '';
  if (
    (dir === 'f' || dir === 'b') &&
    (inclusive === 0 || inclusive === 1) &&
    typeof ts === 'string' &&
    typeof id === 'string' &&
    (!bounded || (id !== '' && !Number.isNaN(Date.parse(ts))))
  )
    return { dir, inclusive: inclusive === 1, key: bounded ? [new Date(ts).toISOString(), id] : null };
  throw new InvalidError('cursor is not valid; pass a cursor returned by this endpoint', ['cursor'], {
    type: 'cursor_invalid',
    fieldMessage: 'not a cursor of this endpoint',
  });
}

/**
 * Newest first on (created_at, id). Every cursor is a keyset position plus a direction, so
 * `previous_page` walks back and no page shifts when runs are inserted meanwhile.
 */
export async function listActionRuns(deps: RunDeps, accountId: string, query: ListQuery): Promise<z.infer<typeof actionRunPageSchema>> {
  const db = deps.dataSource;
  const filter: q.RunFilter = { accountId, flowId: query.flowId, status: query.phase };
  const pos: q.SlicePosition = query.cursor ? decode(query.cursor) : { dir: 'f', key: null, inclusive: false };
  const [{ runs, more }, total] = await Promise.all([q.runSlice(db, filter, pos, query.size), q.countRuns(db, filter)]);

  let current_page: string;
  let current_page_backwards: string;
  let previous_page: string | null = null;
  let next_page: string | null = null;
  if (runs.length > 0) {
    const first = timeKey(runs[0]!);
    const last = timeKey(runs[runs.length - 1]!);
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
  const [live, steps, logs] = await Promise.all([deps.reconciler.reconcileMany(runs), stepsOfRuns(db, ids), logsOfRuns(db, ids, LIST_LOGS)]);
  const items = live.map((l) => actionRunView(l, mergeSteps(steps.get(l.run.id) ?? [], null), logs.get(l.run.id) ?? []));
  return { items, total, current_page, current_page_backwards, previous_page, next_page };
}

export interface CreateInput {
  /** The run id the client chose; generated when absent. */
  id?: string;
  flowId: string;
  args?: unknown;
  tags?: Tag[];
  idempotency?: { key: string; request: unknown };
}

/**
 * Starts the flow as a batch of one; `args` becomes `trigger.body`. The flow's own type is the
 * run's `flowType`: the contract's `flowType` defaults to selfServiceAction, so it cannot override it.
 */
export async function createActionRun(deps: RunDeps, auth: AuthContext, input: CreateInput): Promise<ActionRun> {
  const batch = await triggerBatch(deps, auth, {
    flowIds: [input.flowId],
    ...(input.id !== undefined ? { runIds: [input.id] } : {}),
    tags: input.tags,
    data: input.args ?? null,
    idempotency: input.idempotency,
  });
  const runId = batch.runs[0]?.id;
  if (!runId) throw runNotFound();
  return getActionRun(deps, auth.accountId, runId);
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
const durationOf = (start: Date | null, end: Date | null): number | null => (start && end ? Math.max(0, end.getTime() - start.getTime()) : null);

/** A reported action as a step row, its position its index. */
function stepOf(a: ActionInput, position: number): StepRow {
  const startedAt = toDate(a.startTime);
  const finishedAt = toDate(a.endTime);
  return {
    id: a.id,
    position,
    name: a.name ?? a.id,
    type: a.type ?? 'external',
    status: a.phase,
    attempts: startedAt ? 1 : 0,
    startedAt: a.startTime ?? undefined,
    finishedAt: a.endTime ?? undefined,
    durationMs: durationOf(startedAt, finishedAt) ?? undefined,
    output: a.output ?? null,
    error: a.error === undefined || a.error === null ? undefined : typeof a.error === 'string' ? a.error : JSON.stringify(a.error),
  };
}

/** A reported log line; keys come from the index, so re-sending the same log never duplicates it. */
const logOf = (l: LogInput, i: number, now: Date): LogLine => ({
  key: `report.${String(i).padStart(6, '0')}`,
  ts: toDate(l.timestamp) ?? now,
  level: l.level,
  stepId: l.action ?? null,
  message: l.message,
});

/**
 * Writes a run an outside executor reports. A field left out of the body keeps its stored value,
 * so an executor may report progress piece by piece; `actions` and `logs`, when sent, replace.
 */
async function writeExternal(deps: RunDeps, m: EntityManager, auth: AuthContext, publicId: string, body: UpsertInput, existing: Run | null): Promise<boolean> {
  const now = new Date();
  const startedAt = body.startTime !== undefined ? toDate(body.startTime) : (existing?.startedAt ?? null);
  const finishedAt = body.endTime !== undefined ? toDate(body.endTime) : (existing?.finishedAt ?? null);
  const fields: Partial<Run> = {
    flowId: body.flowId,
    flowName: await q.flowNameOf(m, auth.accountId, body.flowId),
    flowType: body.flowType,
    status: body.phase ?? existing?.status ?? (startedAt ? 'running' : 'queued'),
    startedAt,
    finishedAt,
    durationMs: durationOf(startedAt, finishedAt),
    updatedAt: now,
    updatedBy: auth.keyId,
    ...(body.args !== undefined ? { triggerData: (body.args ?? null) as Json } : {}),
    ...(body.outputs !== undefined ? { outputs: (body.outputs ?? null) as Json } : {}),
    ...(body.tags !== undefined ? { tags: body.tags } : {}),
  };
  const created: Partial<Run> = {
    triggerData: null,
    outputs: null,
    tags: [],
    ...fields,
    publicId,
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
  };
  return deps.projections.externalRun(
    m,
    {
      id: existing?.id ?? randomUUID(),
      fields: existing ? fields : created,
      steps: body.actions?.map(stepOf),
      logs: body.logs?.map((l, i) => logOf(l, i, now)),
    },
    existing !== null,
  );
}

/**
 * A run the platform executes belongs to its workflow: only its tags change. `flowId`, `flowType`
 * and a non-null `phase` must agree with the run (a conflict otherwise), so a client that read the
 * object, changed its tags and sent it back succeeds; the reported fields (args, times, actions,
 * outputs, logs) are ignored, as the workflow's own records are authoritative.
 */
async function updatePlatformRun(deps: RunDeps, auth: AuthContext, run: Run, body: UpsertInput): Promise<void> {
  if (body.flowId !== run.flowId) throw new ConflictError(`flow-run ${run.publicId} runs flow ${run.flowId}; its flowId cannot change`, ['flowId']);
  if (body.flowType !== run.flowType)
    throw new ConflictError(`flow-run ${run.publicId} is of type ${run.flowType}; its flowType cannot change`, ['flowType']);
  const phase = presentedStatus(await deps.reconciler.reconcileOne(run));
  if (body.phase != null && body.phase !== phase)
    throw new ConflictError(`flow-run ${run.publicId} is executed by the platform and is ${phase}; its phase cannot be set`, ['phase']);
  if (body.tags !== undefined) await deps.projections.runTagged(run.id, body.tags, auth.keyId);
}

/**
 * Creates or updates a run reported by an outside executor (external, no batch), or retags a
 * run the platform executes. Ids are the account's own: another account's run of the same id is
 * neither seen nor touched.
 */
export async function upsertActionRun(deps: RunDeps, auth: AuthContext, id: string, body: UpsertInput): Promise<ActionRun> {
  const platformRun = await deps.dataSource.transaction(async (m) => {
    let existing = await q.lockRun(m, auth.accountId, id);
    if (!existing) {
      if (await writeExternal(deps, m, auth, id, body, null)) return null;
      existing = await q.lockRun(m, auth.accountId, id);
      if (!existing) throw new ConflictError(`flow-run ${id} was deleted meanwhile; retry`, ['id']);
    }
    if (!existing.external) return existing;
    await writeExternal(deps, m, auth, id, body, existing);
    return null;
  });
  if (platformRun) await updatePlatformRun(deps, auth, platformRun, body);
  return getActionRun(deps, auth.accountId, id);
}

/** Deletes a run with its steps, logs and requests (cascade), and its batch when it was the batch's only run. */
export async function deleteActionRun(deps: RunDeps, accountId: string, id: string): Promise<void> {
  const run = await findRun(deps.dataSource, accountId, id);
  if (!run) throw runNotFound();
  await deleteRun(deps, run, 'flow-run');
}
