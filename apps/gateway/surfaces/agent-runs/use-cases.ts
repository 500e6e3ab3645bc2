/**
 * Agents are workers started with an agent name. They are not stored anywhere: Temporal's
 * task-queue pollers are the truth, so a worker that stops polling goes offline by itself and a
 * new one appears as soon as it polls. Errors name `flowId` and `agentId`.
 */
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { insertBatchRows } from '../../../../db/projections';
import { NotFoundError, UnavailableError } from '../../../../domain/errors';
import type { BatchRunInput } from '../../../../domain/flow-types';
import { batchRun } from '../../../../workflows';
import { batchWorkflowId } from '../../../../workflows/definitions';
import { agentTaskQueue } from '../../../config';
import type { AuthContext, GatewayDeps } from '../../deps';
import { batchSearchAttributes, prepareBatch } from '../../runs/trigger';
import type { Agent, Poller } from './views';

/** A poller seen this recently counts as online; an idle worker re-polls about once a minute (long poll). */
const AGENT_ONLINE_WINDOW_MS = 2 * 60_000;
const TEMPORAL_TIMEOUT_MS = 5000;

/** The worker writes agent identities as `agent:<name>@<host>:<pid>` (apps/worker/worker.ts `workerIdentity`). */
const AGENT_IDENTITY = /^agent:([A-Za-z0-9_.-]+)@/;
/** Agent names as AGENT_NAME accepts them (apps/config.ts). */
const AGENT_NAME = /^[A-Za-z0-9_.-]+$/;

const QUEUE_TYPES = [
  temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
];

/** Pollers of a task queue, workflow and activity types together, one entry per identity (its latest poll). */
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

async function describeAgent(deps: Pick<GatewayDeps, 'client' | 'config'>, name: string, now = Date.now()): Promise<Agent> {
  const taskQueue = agentTaskQueue(name);
  const pollers = await pollersOf(deps, taskQueue);
  const last = pollers.reduce<string | null>((max, p) => (max === null || p.lastAccessTime > max ? p.lastAccessTime : max), null);
  const online = last !== null && now - Date.parse(last) <= AGENT_ONLINE_WINDOW_MS;
  return { id: name, name, taskQueue, lastPollTime: last, online, pollers };
}

/**
 * Every agent Temporal still remembers (it keeps pollers for a few minutes after their last poll):
 * names come from the identities polling the default task queue, state from each agent's own queue.
 */
export async function listAgents(deps: Pick<GatewayDeps, 'client' | 'config'>): Promise<Agent[]> {
  const names = new Set<string>();
  for (const p of await pollersOf(deps, deps.config.taskQueue)) {
    const name = AGENT_IDENTITY.exec(p.identity)?.[1];
    if (name) names.add(name);
  }
  const agents = await Promise.all([...names].sort().map((name) => describeAgent(deps, name)));
  return agents.filter((a) => a.pollers.length > 0);
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
  const base = await prepareBatch(deps, auth, {
    flowIds: [req.flowId],
    taskQueue: agentTaskQueue(req.agentId),
    env: req.variables,
    source: 'agent',
    data: null,
  });
  if (!AGENT_NAME.test(req.agentId) || !(await describeAgent(deps, req.agentId)).online)
    throw new NotFoundError(`agent ${req.agentId} (no worker started with this agent name is polling)`, ['agentId']);

  const runId = base.runs[0].runId;
  const scheduleId = agentScheduleId(runId);
  const input: BatchRunInput = { ...base, ...(req.isDelete ? { deleteScheduleId: scheduleId } : {}) };
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
            args: [input],
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
