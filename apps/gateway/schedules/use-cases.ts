/**
 * Schedules are Temporal Schedules: the schedule in Temporal is the record (pausing or deleting
 * it in the Temporal UI or CLI shows here), and its memo keeps the definition as the client sent
 * it. Each firing starts `scheduledBatch`, which makes a fresh batch with `source: schedule`. Ids
 * are the account's own (`sched-<account>-<id>` in Temporal); another account's schedule is not
 * found. Errors name the body's fields (`spec.cron`, `trigger.flow_ids`…) and the path's `id`.
 */
import { randomUUID } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleSummary,
} from '@temporalio/client';
import { z } from 'zod';
import { scheduledBatchId } from '../../../domain/derived-ids';
import { ConflictError, InvalidError, NotFoundError, UnavailableError } from '../../../domain/errors';
import type { ScheduledTrigger } from '../../../workflows/contract';
import { WorkflowTypes } from '../../../workflows/definitions';
import { ACCOUNT_ID, SCHEDULE_ID } from '../../../workflows/search-attributes';
import { plainSummary } from '../../../workflows/summaries';
import type { AuthContext, GatewayDeps } from '../deps';
import { runFlowsBody, triggerRequestOf } from '../surfaces/ci-batches/routes';
import { keepMaskedSecrets, secretNames, shownVariables } from '../definitions/secret-variables';
import { prepareBatch } from '../../../core/batches';

const TEMPORAL_TIMEOUT_MS = 10_000;
/** An account keeps at most this many schedules. */
export const MAX_SCHEDULES = 500;

export const OVERLAPS = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;
const OVERLAP_POLICY: Record<(typeof OVERLAPS)[number], ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_one: ScheduleOverlapPolicy.BUFFER_ONE,
  buffer_all: ScheduleOverlapPolicy.BUFFER_ALL,
  cancel_other: ScheduleOverlapPolicy.CANCEL_OTHER,
  terminate_other: ScheduleOverlapPolicy.TERMINATE_OTHER,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
};

const iso = z.iso.datetime({ offset: true });

export const scheduleInputSchema = z.strictObject({
  id: z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/, 'must match ^[A-Za-z0-9_.-]+$').optional(),
  spec: z.union([
    z.object({ cron: z.string().trim().min(1).max(200) }).strict(),
    z.object({ intervalSeconds: z.number().int().min(1).max(366 * 24 * 3600) }).strict(),
  ]),
  timezone: z.string().min(1).max(100).default('UTC'),
  startAt: iso.optional(),
  endAt: iso.optional(),
  jitterSeconds: z.number().int().min(0).max(24 * 3600).optional(),
  trigger: runFlowsBody,
  overlap: z.enum(OVERLAPS).default('skip'),
  catchupWindowSeconds: z.number().int().min(1).max(366 * 24 * 3600).default(60),
  paused: z.boolean().default(false),
  note: z.string().max(1000).optional(),
});
export type ScheduleInput = z.output<typeof scheduleInputSchema>;

export const scheduleSchema = scheduleInputSchema.extend({
  id: z.string(),
  trigger: z.unknown(),
  nextRuns: z.array(z.string()),
  recentRuns: z.array(z.object({ batchId: z.string(), scheduledAt: z.string(), startedAt: z.string() })),
});
export type ScheduleView = z.infer<typeof scheduleSchema>;

export const schedulePageSchema = z.object({ data: z.array(scheduleSchema), cursor: z.string().nullable(), hasMore: z.boolean() });

const temporalId = (accountId: string, id: string) => `sched-${accountId}-${id}`;
/** Firings start workflow `sched-<account>-<id>-<fire time>`; the batch id derives from it. */
const firingWorkflowId = temporalId;

/** A schedule's definition as the client sent it, with its id. */
type Definition = ScheduleInput & { id: string };

/** The memo a schedule was created with, holding its first definition (Temporal cannot update a memo; the action's args hold the current one). */
interface Memo {
  flowruns: Definition;
}

function unavailable(err: unknown): never {
  throw new UnavailableError(`Temporal is not reachable right now; retry (${(err as Error).message})`);
}

async function temporal<T>(client: Client, call: () => Promise<T>, id: string): Promise<T> {
  try {
    return await client.withDeadline(Date.now() + TEMPORAL_TIMEOUT_MS, call);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new NotFoundError(`schedule ${id}`, ['id']);
    if (err instanceof ScheduleAlreadyRunning) throw new ConflictError(`schedule ${id} already exists; PUT it to change it`, ['id']);
    const message = (err as Error).message ?? '';
    if (/invalid|cron|parse/i.test(message) && /spec|cron|calendar|interval/i.test(message)) throw new InvalidError(`the schedule's spec is not valid: ${message}`, ['body', 'spec']);
    unavailable(err);
  }
}

type Trigger = ScheduleInput['trigger'];

/**
 * The trigger as a response shows it: its secret `env` values (declared in `secrets` or named like
 * one) as `***`, and no `save_env`, which a schedule never applies.
 */
const shownTrigger = ({ save_env: _never, ...t }: Trigger): Omit<Trigger, 'save_env'> => (t.env ? { ...t, env: shownVariables(t.env, t.secrets) } : t);

function view(def: Definition, state: { paused: boolean; note?: string }, info: ScheduleDescription['info'] | ScheduleSummary['info']): ScheduleView {
  return {
    ...def,
    trigger: shownTrigger(def.trigger),
    paused: state.paused,
    ...(state.note ? { note: state.note } : {}),
    nextRuns: info.nextActionTimes.map((d) => d.toISOString()),
    recentRuns: info.recentActions.map((a) => ({
      batchId: scheduledBatchId(a.action.workflow.workflowId),
      scheduledAt: a.scheduledAt.toISOString(),
      startedAt: a.takenAt.toISOString(),
    })),
  };
}

/** The Temporal options of a schedule definition. */
async function options(deps: Pick<GatewayDeps, 'config' | 'dataSource'>, auth: AuthContext, def: Definition): Promise<ScheduleOptions> {
  const trigger = { ...triggerRequestOf(def.trigger), saveEnv: false };
  // Resolve once now, so a trigger naming an unknown flow, suite or app is refused at once.
  await prepareBatch(deps, auth, trigger);
  const spec = 'cron' in def.spec ? { cronExpressions: [def.spec.cron] } : { intervals: [{ every: def.spec.intervalSeconds * 1000 }] };
  return {
    scheduleId: temporalId(auth.accountId, def.id),
    spec: {
      ...spec,
      timezone: def.timezone,
      ...(def.startAt ? { startAt: new Date(def.startAt) } : {}),
      ...(def.endAt ? { endAt: new Date(def.endAt) } : {}),
      ...(def.jitterSeconds ? { jitter: def.jitterSeconds * 1000 } : {}),
    },
    action: {
      type: 'startWorkflow',
      workflowType: WorkflowTypes.scheduledBatch,
      workflowId: firingWorkflowId(auth.accountId, def.id),
      taskQueue: deps.config.taskQueue,
      args: [{ accountId: auth.accountId, scheduleId: def.id, trigger, definition: def } satisfies ScheduledTrigger],
      staticSummary: plainSummary(`schedule ${def.id}: a firing`),
      typedSearchAttributes: [
        { key: ACCOUNT_ID, value: auth.accountId },
        { key: SCHEDULE_ID, value: def.id },
      ],
    },
    policies: { overlap: OVERLAP_POLICY[def.overlap], catchupWindow: def.catchupWindowSeconds * 1000 },
    state: { paused: def.paused, ...(def.note ? { note: def.note } : {}) },
    memo: { flowruns: def } satisfies Memo,
    typedSearchAttributes: [{ key: ACCOUNT_ID, value: auth.accountId }],
  };
}

const memoDefinition = (memo: Record<string, unknown> | undefined): Definition | null => (memo as Partial<Memo> | undefined)?.flowruns ?? null;

/** The current definition: from the action's args (updated by PUT), else the memo of a schedule made before they carried it. */
function definitionOf(desc: ScheduleDescription): Definition | null {
  const args = desc.action.type === 'startWorkflow' ? (desc.action.args?.[0] as Partial<ScheduledTrigger> | undefined) : undefined;
  return (args?.definition as Definition | undefined) ?? memoDefinition(desc.memo);
}

async function describe(deps: Pick<GatewayDeps, 'client'>, auth: AuthContext, id: string): Promise<{ def: Definition; desc: ScheduleDescription }> {
  const desc = await temporal(deps.client, () => deps.client.schedule.getHandle(temporalId(auth.accountId, id)).describe(), id);
  const def = definitionOf(desc);
  if (!def) throw new NotFoundError(`schedule ${id}`, ['id']);
  return { def, desc };
}

export async function getSchedule(deps: Pick<GatewayDeps, 'client'>, auth: AuthContext, id: string): Promise<ScheduleView> {
  const { def, desc } = await describe(deps, auth, id);
  return view(def, desc.state, desc.info);
}

/** The account's schedules as their list entries show them (the memo's first definition), by id. */
async function accountSchedules(deps: Pick<GatewayDeps, 'client'>, auth: AuthContext): Promise<ScheduleView[]> {
  const prefix = temporalId(auth.accountId, '');
  const found: ScheduleView[] = [];
  try {
    for await (const s of deps.client.schedule.list({ query: `${ACCOUNT_ID.name} = '${auth.accountId}'` })) {
      const def = memoDefinition(s.memo);
      if (!def || !s.scheduleId.startsWith(prefix)) continue;
      found.push(view(def, s.state, s.info));
      if (found.length > MAX_SCHEDULES * 2) break;
    }
  } catch (err) {
    unavailable(err);
  }
  return found.sort((a, b) => a.id.localeCompare(b.id));
}

/** The account's schedules, by id; `cursor` is the last id of the previous page. */
export async function listSchedules(deps: Pick<GatewayDeps, 'client'>, auth: AuthContext, page: { cursor?: string; limit: number }): Promise<z.infer<typeof schedulePageSchema>> {
  const sorted = (await accountSchedules(deps, auth)).filter((s) => !page.cursor || s.id.localeCompare(page.cursor) > 0);
  // A list entry carries only the memo, the first definition: the page's schedules are read whole, so an update shows.
  const data = await Promise.all(sorted.slice(0, page.limit).map((s) => getSchedule(deps, auth, s.id).catch((err) => (err instanceof NotFoundError ? s : Promise.reject(err)))));
  const hasMore = sorted.length > page.limit;
  return { data, cursor: hasMore ? data[data.length - 1]!.id : null, hasMore };
}

export async function createSchedule(deps: Pick<GatewayDeps, 'client' | 'config' | 'dataSource'>, auth: AuthContext, input: ScheduleInput): Promise<ScheduleView> {
  const def = { ...input, id: input.id ?? randomUUID() };
  const count = (await accountSchedules(deps, auth)).length;
  if (count >= MAX_SCHEDULES) throw new ConflictError(`an account keeps at most ${MAX_SCHEDULES} schedules; delete one first`, ['id']);
  const opts = await options(deps, auth, def);
  await temporal(deps.client, () => deps.client.schedule.create(opts), def.id);
  return getSchedule(deps, auth, def.id);
}

/** Replaces the definition (the id stays); a schedule that does not exist is created. */
export async function putSchedule(deps: Pick<GatewayDeps, 'client' | 'config' | 'dataSource'>, auth: AuthContext, id: string, input: ScheduleInput): Promise<{ schedule: ScheduleView; created: boolean }> {
  let stored: Trigger;
  try {
    stored = (await describe(deps, auth, id)).def.trigger;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    return { schedule: await createSchedule(deps, auth, { ...input, id }), created: true };
  }
  // A secret sent back as the `***` a GET showed keeps its stored value.
  const env = input.trigger.env && keepMaskedSecrets(input.trigger.env, stored.env, secretNames(input.trigger.secrets, stored.secrets));
  const def = { ...input, id, trigger: { ...input.trigger, ...(env ? { env } : {}) } };
  const opts = await options(deps, auth, def);
  const handle = deps.client.schedule.getHandle(temporalId(auth.accountId, id));
  await temporal(
    deps.client,
    () =>
      handle.update((prev) => ({
        ...prev,
        spec: opts.spec,
        action: opts.action,
        policies: { ...prev.policies, ...opts.policies },
        state: { ...prev.state, paused: def.paused, ...(def.note !== undefined ? { note: def.note } : {}) },
        memo: opts.memo,
      })),
    id,
  );
  // Temporal applies an update asynchronously: a describe right after may still show the old action's args.
  const { desc } = await describe(deps, auth, id);
  return { schedule: view(def, { paused: def.paused, note: def.note ?? desc.state.note }, desc.info), created: false };
}

export async function deleteSchedule(deps: Pick<GatewayDeps, 'client'>, auth: AuthContext, id: string): Promise<void> {
  await describe(deps, auth, id);
  await temporal(deps.client, () => deps.client.schedule.getHandle(temporalId(auth.accountId, id)).delete(), id);
}

export async function pauseSchedule(deps: Pick<GatewayDeps, 'client'>, auth: AuthContext, id: string, pause: boolean, note?: string): Promise<ScheduleView> {
  await describe(deps, auth, id);
  const handle = deps.client.schedule.getHandle(temporalId(auth.accountId, id));
  await temporal(deps.client, () => (pause ? handle.pause(note) : handle.unpause(note)), id);
  return getSchedule(deps, auth, id);
}

/** Fires the schedule now (whatever its overlap policy) and answers the batch that firing starts. */
export async function triggerSchedule(deps: Pick<GatewayDeps, 'client'>, auth: AuthContext, id: string): Promise<{ batchId: string }> {
  const { desc } = await describe(deps, auth, id);
  const before = new Set(desc.info.recentActions.map((a) => a.action.workflow.workflowId));
  const handle = deps.client.schedule.getHandle(temporalId(auth.accountId, id));
  await temporal(deps.client, () => handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL), id);
  const deadline = Date.now() + TEMPORAL_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const now = await temporal(deps.client, () => handle.describe(), id);
    const fired = now.info.recentActions.find((a) => !before.has(a.action.workflow.workflowId));
    if (fired) return { batchId: scheduledBatchId(fired.action.workflow.workflowId) };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new UnavailableError('the schedule was triggered but Temporal has not shown the firing yet; look at its recentRuns');
}

/** Fires the schedule for every time its spec matches in [start, end]. */
export async function backfillSchedule(
  deps: Pick<GatewayDeps, 'client'>,
  auth: AuthContext,
  id: string,
  range: { start: string; end: string; overlap?: (typeof OVERLAPS)[number] },
): Promise<{ id: string; start: string; end: string; overlap: string }> {
  const { def } = await describe(deps, auth, id);
  const overlap = range.overlap ?? def.overlap;
  if (Date.parse(range.end) <= Date.parse(range.start)) throw new InvalidError('end must be after start', ['body', 'end']);
  const handle = deps.client.schedule.getHandle(temporalId(auth.accountId, id));
  await temporal(deps.client, () => handle.backfill([{ start: new Date(range.start), end: new Date(range.end), overlap: OVERLAP_POLICY[overlap] }]), id);
  return { id, start: range.start, end: range.end, overlap };
}
