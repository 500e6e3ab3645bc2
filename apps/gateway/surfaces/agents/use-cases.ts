/**
 * Agents are processes an account runs (`npm run agent -- --name NAME` with one of its keys) that
 * talk to this gateway only: they register under a name, long-poll for the step attempts of their
 * account's runs sent to that name (attempts.ts), and hand back what each did; the workflows and
 * every record stay on the platform. Errors name `flowId` and `agentId`.
 */
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { agentPollers, agentSeen, runningAgentAttempts, type AgentPoller, type RunningAgentAttempt } from '../../../../db/agent-attempts';
import { AgentEntity } from '../../../../db/entities';
import { insertBatchRows } from '../../../../db/projections';
import { NotFoundError, UnavailableError } from '../../../../domain/errors';
import type { BatchRunInput } from '../../../../domain/flow-types';
import { batchWorkflowId, WorkflowTypes } from '../../../../workflows/definitions';
import type { AuthContext, GatewayDeps } from '../../deps';
import { prepareBatch } from '../../../../core/batches';
import { batchSearchAttributes } from '../../runs/trigger';
import { batchSummary } from '../../../../workflows/summaries';
import type { Agent } from './views';
import { workflowInput } from '../../../../domain/batch-plan';

/** An agent process that long-polled or beat this recently is connected (it polls again at least every 25 s). */
export const AGENT_CONNECTED_WINDOW_MS = 30_000;
/** Agent processes seen this recently are listed under `pollers`. */
const AGENT_POLLERS_WINDOW_MS = 10 * 60_000;
const TEMPORAL_TIMEOUT_MS = 5000;

function describeAgent(name: string, pollers: AgentPoller[], running: RunningAgentAttempt[], now = Date.now()): Agent {
  const own = pollers.filter((p) => p.agentName === name).sort((a, b) => a.identity.localeCompare(b.identity));
  const last = own.reduce<Date | null>((max, p) => (max === null || p.seenAt > max ? p.seenAt : max), null);
  return {
    id: name,
    name,
    lastPollTime: last?.toISOString() ?? null,
    online: last !== null && now - last.getTime() <= AGENT_CONNECTED_WINDOW_MS,
    pollers: own.map((p) => ({ identity: p.identity, lastAccessTime: p.seenAt.toISOString() })),
    running: running
      .filter((r) => r.agentName === name)
      .map((r) => ({ attemptId: r.attemptId, runId: r.runId, stepId: r.stepId, attempt: r.attempt, identity: r.identity, since: r.since.toISOString() })),
  };
}

const findAgent = (deps: Pick<GatewayDeps, 'dataSource'>, accountId: string, name: string) =>
  deps.dataSource.getRepository(AgentEntity).findOneBy({ accountId, name });

/** The account's agents, registered ones whether or not a process polls for them now: connected, last seen, running what. */
export async function listAgents(deps: Pick<GatewayDeps, 'dataSource'>, auth: AuthContext): Promise<Agent[]> {
  const [rows, pollers, running] = await Promise.all([
    deps.dataSource.getRepository(AgentEntity).find({ where: { accountId: auth.accountId }, order: { name: 'ASC' } }),
    agentPollers(deps.dataSource, auth.accountId, AGENT_POLLERS_WINDOW_MS),
    runningAgentAttempts(deps.dataSource, auth.accountId),
  ]);
  return rows.map((row) => describeAgent(row.name, pollers, running));
}

/** One agent of the account as the list shows it. */
async function agentNow(deps: Pick<GatewayDeps, 'dataSource'>, accountId: string, name: string): Promise<Agent> {
  const [pollers, running] = await Promise.all([agentPollers(deps.dataSource, accountId, AGENT_POLLERS_WINDOW_MS), runningAgentAttempts(deps.dataSource, accountId)]);
  return describeAgent(name, pollers, running);
}

/**
 * Registers (or re-registers) an agent of the caller's account; the agent process does this at start
 * (`npm run agent -- --name NAME`), as `identity`, which counts as seen: it long-polls next.
 */
export async function registerAgent(deps: Pick<GatewayDeps, 'dataSource'>, auth: AuthContext, name: string, identity?: string): Promise<Agent> {
  await deps.dataSource
    .createQueryBuilder()
    .insert()
    .into(AgentEntity)
    .values({ accountId: auth.accountId, name, taskQueue: null, registeredBy: auth.keyId, registeredAt: new Date() })
    .orUpdate(['registered_by', 'registered_at'], ['account_id', 'name'])
    .execute();
  if (identity) await agentSeen(deps.dataSource, auth.accountId, name, identity);
  // Described from what was written, not read back: a DELETE racing this PUT may have removed the row already.
  return agentNow(deps, auth.accountId, name);
}

/** Forgets an agent of the caller's account; attempts already queued for it wait for an agent of that name until their pickup timeout. */
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
    ...(agent ? { agent: { name: agent.name } } : {}),
    env: req.variables,
    source: 'agent',
    data: null,
  });
  if (!agent || !(await agentNow(deps, auth.accountId, agent.name)).online)
    throw new NotFoundError(`agent ${req.agentId} (no agent of this account by this name is connected)`, ['agentId']);

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
            workflowType: WorkflowTypes.batchRun,
            workflowId: batchWorkflowId(input.batchId),
            taskQueue: config.taskQueue,
            args: [input],
            staticSummary: batchSummary(input),
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
