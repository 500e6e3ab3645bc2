/**
 * A step attempt on an agent, seen from the platform: an activity on the platform's own workers
 * puts the attempt in the account's agent queue (db/agent-attempts.ts) and waits, heartbeating to
 * Temporal, for the agent's answer through the gateway. The agent never talks to Temporal: a
 * cancelled run ends the queued or claimed attempt (the agent's next heartbeat hears it), an agent
 * that stops beating loses its attempt (a failed attempt the workflow retries), and an attempt no
 * agent takes in time fails the step as `AgentOffline`.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import { derivedId } from '../domain/derived-ids';
import { endAgentAttempt, enqueueAgentAttempt, readAgentAttempt } from '../db/agent-attempts';
import type { AgentAttempt, AgentCall } from './agent';

/** The queue is read this often while an attempt waits. */
const POLL_MS = 250;
/** An agent beats every half second (apps/agent); one silent this long has gone, and its attempt is lost. */
export const AGENT_LOST_AFTER_MS = 6000;

export const AGENT_OFFLINE = 'AgentOffline';
export const AGENT_LOST = 'AgentLost';

/** One attempt for the account's agent `agent`: picked up within `pickupTimeoutMs`, ended within `attemptTimeoutMs` of its pickup. */
export interface AgentDispatch {
  call: AgentCall;
  accountId: string;
  agent: string;
  pickupTimeoutMs: number;
  attemptTimeoutMs: number;
}

export interface AgentDispatchDeps {
  dataSource: DataSource;
  /** The scope with its large outputs loaded: an agent has no database to read them from. */
  resolveScope(scope: AgentCall['scope']): Promise<AgentCall['scope']>;
  lostAfterMs?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

export function createAgentDispatchActivities({ dataSource, resolveScope, lostAfterMs = AGENT_LOST_AFTER_MS }: AgentDispatchDeps) {
  return {
    /**
     * Hands one attempt to an agent and answers what it did. Idempotent per activity: a retry of
     * this activity (its platform worker died) waits for the same queued attempt, not a new one.
     */
    async dispatchToAgent({ call, accountId, agent, pickupTimeoutMs, attemptTimeoutMs }: AgentDispatch): Promise<AgentAttempt> {
      const ctx = Context.current();
      const { workflowExecution, activityId } = ctx.info;
      if (!workflowExecution) throw new Error('dispatchToAgent runs as the activity of a workflow');
      const id = derivedId('agent-attempt', workflowExecution.workflowId, workflowExecution.runId, activityId);
      const signal = ctx.cancellationSignal;
      const scope = await resolveScope(call.scope);
      await enqueueAgentAttempt(dataSource, { id, accountId, agentName: agent, runId: call.runId, publicRunId: call.scope.run.id, stepKey: call.key, attempt: call.attempt, call: { ...call, scope }, pickupTimeoutMs });
      const failed = (error: string, errorType: string, nonRetryable: boolean, startedAt: string | null): AgentAttempt => {
        const now = new Date().toISOString();
        return { status: 'failed', error, errorType, nonRetryable, startedAt: startedAt ?? now, finishedAt: now, requests: [] };
      };
      try {
        for (;;) {
          ctx.heartbeat();
          if (signal.aborted) throw new CancelledFailure('the run was cancelled');
          const state = await readAgentAttempt(dataSource, id);
          if (!state) throw ApplicationFailure.nonRetryable(`the attempt of step ${call.key} on agent ${agent} is gone from the queue`, AGENT_LOST);
          if (state.status === 'done') return state.result as AgentAttempt;
          if (state.status === 'lost')
            return failed(`agent ${agent} (${state.claimedBy ?? 'unknown'}) stopped answering during the step; the attempt is lost`, AGENT_LOST, false, state.claimedAt);
          if (state.status === 'cancelled') throw new CancelledFailure('the attempt was cancelled');
          if (state.status === 'queued' && state.queuedMs > pickupTimeoutMs && (await endAgentAttempt(dataSource, id, ['queued'], 'cancelled')))
            throw ApplicationFailure.nonRetryable(
              `no agent named ${agent} picked the step up within ${Math.round(pickupTimeoutMs / 1000)} s: is \`npm run agent -- --name ${agent}\` running with a key of this account?`,
              AGENT_OFFLINE,
            );
          if (state.status === 'claimed' && (state.silentMs ?? 0) > lostAfterMs && (await endAgentAttempt(dataSource, id, ['claimed'], 'lost', lostAfterMs)))
            return failed(`agent ${agent} (${state.claimedBy ?? 'unknown'}) stopped answering during the step (no heartbeat for ${Math.round(lostAfterMs / 1000)} s); the attempt is lost`, AGENT_LOST, false, state.claimedAt);
          if (state.status === 'claimed' && (state.runningMs ?? 0) > attemptTimeoutMs && (await endAgentAttempt(dataSource, id, ['claimed'], 'cancelled')))
            return failed(`the step timed out on agent ${agent} after ${Math.round(attemptTimeoutMs / 1000)} s`, 'StepTimedOut', false, state.claimedAt);
          await sleep(POLL_MS, signal);
        }
      } catch (err) {
        // The run was cancelled (or the activity timed out): the agent hears it at its next heartbeat.
        if (signal.aborted) await endAgentAttempt(dataSource, id, ['queued', 'claimed'], 'cancelled').catch(() => undefined);
        throw err;
      }
    },
  };
}
