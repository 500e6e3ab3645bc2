/**
 * Agents are workers an account registers (with one of its keys) under a name: each gets a task
 * queue of its own, and Temporal's pollers of that queue tell whether it is online. An agent runs
 * the activity steps of the runs sent to it and nothing else; the workflows and every record stay
 * on the platform. Errors name `flowId` and `agentId`.
 */
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { AgentEntity, type Agent as AgentRow } from '../../../../db/entities';
import { insertBatchRows } from '../../../../db/projections';
import { NotFoundError, UnavailableError } from '../../../../domain/errors';
import { BOOKKEEPING, type BatchRunInput } from '../../../../domain/flow-types';
import { batchRun } from '../../../../workflows';
import { batchWorkflowId } from '../../../../workflows/definitions';
import { agentTaskQueue } from '../../../config';
import type { AuthContext, GatewayDeps } from '../../deps';
import { batchSearchAttributes, prepareBatch } from '../../runs/trigger';
import type { Agent, Poller } from './views';
import { workflowInput } from '../../../../domain/batch-plan';

/** A poller seen this recently counts as online; an idle worker re-polls about once a minute (long poll). */
const AGENT_ONLINE_WINDOW_MS = 2 * 60_000;
const TEMPORAL_TIMEOUT_MS = 5000;

/** Activity pollers: an agent's worker polls its queue for activity tasks only. */
const QUEUE_TYPES = [temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY];

/** Pollers of a task queue, one entry per identity (its latest poll). */
async function pollersOf(deps: Pick<GatewayDeps, 'client' | 'config'>, taskQueue: string): Promise<Poller[]> {
  const { client, config } = deps;
  let answers;
  try {
    answers = await client.withDeadline(Date.now() + TEMPORAL_TIMEOUT_MS, () =>
      Promise.all(
        QUEUE_TYPES.map((taskQueueType) =>
          client.workflowService.describeTaskQueue({
            namespace: config.namespace,
            taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
            taskQueueType,
          }),
        ),
      ),
    );
  } catch (err) {
    throw new UnavailableError(`Temporal is not reachable right now; retry (${(err as Error).message})`);
  }
  const latest = new Map<string, Date>();
  for (const poller of answers.flatMap((a) => a.pollers ?? [])) {
    const at = optionalTsToDate(poller.lastAccessTime);
    if (!poller.identity || !at) continue;
    const seen = latest.get(poller.identity);
    if (!seen || seen < at) latest.set(poller.identity, at);
  }
  return [...latest]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([identity, at]) => ({ identity, lastAccessTime: at.toISOString() }));
}

async function describeAgent(deps: Pick<GatewayDeps, 'client' | 'config'>, row: Pick<AgentRow, 'name' | 'taskQueue'>, now = Date.now()): Promise<Agent> {
  const pollers = await pollersOf(deps, row.taskQueue);
  const last = pollers.reduce<string | null>((max, p) => (max === null || p.lastAccessTime > max ? p.lastAccessTime : max), null);
  const online = last !== null && now - Date.parse(last) <= AGENT_ONLINE_WINDOW_MS;
  return { id: row.name, name: row.name, taskQueue: row.taskQueue, lastPollTime: last, online, pollers };
}

const findAgent = (deps: Pick<GatewayDeps, 'dataSource'>, accountId: string, name: string) =>
  deps.dataSource.getRepository(AgentEntity).findOneBy({ accountId, name });

/** The account's agents, registered ones whether or not a worker polls for them now. */
export async function listAgents(deps: Pick<GatewayDeps, 'client' | 'config' | 'dataSource'>, auth: AuthContext): Promise<Agent[]> {
  const rows = await deps.dataSource.getRepository(AgentEntity).find({ where: { accountId: auth.accountId }, order: { name: 'ASC' } });
  return Promise.all(rows.map((row) => describeAgent(deps, row)));
}

/**
 * Registers (or re-registers) an agent of the caller's account; its worker calls this at start
 * (`npm run worker -- --agent NAME` with the account's key) and learns the queue to poll.
 */
export async function registerAgent(deps: Pick<GatewayDeps, 'client' | 'config' | 'dataSource'>, auth: AuthContext, name: string): Promise<Agent> {
  const taskQueue = agentTaskQueue(auth.accountId, name);
  await deps.dataSource
    .createQueryBuilder()
    .insert()
    .into(AgentEntity)
    .values({ accountId: auth.accountId, name, taskQueue, registeredBy: auth.keyId, registeredAt: new Date() })
    .orUpdate(['registered_by', 'registered_at'], ['account_id', 'name'])
    .execute();
  // Described from what was written, not read back: a DELETE racing this PUT may have removed the row already.
  return describeAgent(deps, { name, taskQueue });
}

/** Forgets an agent of the caller's account; runs already sent to it keep waiting for its queue. */
export async function removeAgent(deps: Pick<GatewayDeps, 'dataSource'>, auth: AuthContext, name: string): Promise<void> {
  const res = await deps.dataSource.getRepository(AgentEntity).delete({ accountId: auth.accountId, name });
  if (!res.affected) throw new NotFoundError(`agent ${name}`, ['agentId']);
}

export interface AgentRunRequest {
  flowId: string;
  agentId: string;
  /** Delete the temporary schedule once the run is over; otherwise it stays, paused, for the record. */
  isDelete: boolean;
  /** Schedule variables: the run reads them as `${env:KEY}`, over the flow's and the app's. */
  variables: Record<string, string>;
}

/** Id of the temporary schedule an agent run starts from. */
const agentScheduleId = (runId: string): string => `agent-run-${runId}`;

/**
 * Runs one flow on an agent through a temporary Temporal Schedule. The
 * schedule is created paused with no calendar, and triggered once at creation (one atomic call,
 * so no crash can leave a schedule that never fired); paused, it never fires again and Temporal
 * never expires it. The batch workflow deletes it after the run when `isDelete`.
 * The started workflow's id is `batch-<batchId>-<timestamp>` (Temporal appends the time to a
 * scheduled workflow's id), so reads go by the run's own workflow `run-<runId>`.
 */
export async function runFlowOnAgent(deps: GatewayDeps, auth: AuthContext, req: AgentRunRequest): Promise<{ runId: string }> {
  const { client, config, dataSource } = deps;
  const agent = await findAgent(deps, auth.accountId, req.agentId);
  const base = await prepareBatch(deps, auth, {
    flowIds: [req.flowId],
    ...(agent ? { agent: { name: agent.name, taskQueue: agent.taskQueue } } : {}),
    env: req.variables,
    source: 'agent',
    data: null,
  });
  if (!agent || !(await describeAgent(deps, agent)).online)
    throw new NotFoundError(`agent ${req.agentId} (none of this account's agents of this name is polling)`, ['agentId']);

  const runId = base.runs[0].runId;
  const scheduleId = agentScheduleId(runId);
  const input: BatchRunInput = { ...workflowInput(base), ...(req.isDelete ? { deleteScheduleId: scheduleId } : {}) };
  await dataSource.transaction(async (m) => {
    await insertBatchRows(m, input);
    try {
      await client.withDeadline(Date.now() + TEMPORAL_TIMEOUT_MS, () =>
        client.schedule.create({
          scheduleId,
          spec: {},
          action: {
            type: 'startWorkflow',
            workflowType: batchRun,
            workflowId: batchWorkflowId(input.batchId),
            taskQueue: config.taskQueue,
            args: [{ ...input, ...BOOKKEEPING }],
            typedSearchAttributes: batchSearchAttributes(input),
          },
          policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL },
          typedSearchAttributes: batchSearchAttributes(input),
          state: {
            paused: true,
            triggerImmediately: true,
            note: req.isDelete
              ? `run ${runId} of flow ${req.flowId} on agent ${req.agentId}; deleted when the run is over`
              : `run ${runId} of flow ${req.flowId} on agent ${req.agentId}; kept after the run (isDelete=false): delete it when no longer needed`,
          },
        }),
      );
    } catch (err) {
      throw new UnavailableError(`could not schedule the run on Temporal, nothing was accepted; retry: ${(err as Error).message}`);
    }
  });
  return { runId };
}
