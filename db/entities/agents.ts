/** Tables of agents: `agents`, the step attempts handed to them (`agent_attempts`) and who polls for them (`agent_pollers`). */
import { EntitySchema } from 'typeorm';
import { text, textNull, jsonbNull, ts, tsNull, tsFull, int, now, type Json } from './columns';

export interface Agent {
  accountId: string;
  name: string;
  /** Unused since agents talk to the gateway only (db/agent-attempts.ts); kept for the schema's history. */
  taskQueue: string | null;
  registeredBy: string | null;
  createdAt: Date;
  registeredAt: Date;
}
/**
 * One step attempt handed to an account's agent of one name (migration 1734500000000), from
 * `queued` to `claimed` to an end (`done`, `cancelled`, `lost`; a CHECK constraint the migration
 * makes). Read and written with SQL only (db/agent-attempts.ts).
 */
export interface AgentAttempt {
  id: string;
  accountId: string;
  agentName: string;
  runId: string;
  publicRunId: string;
  stepKey: string;
  attempt: number;
  /** The call for the agent; dropped once the attempt has ended. */
  call: Json;
  status: 'queued' | 'claimed' | 'done' | 'cancelled' | 'lost';
  claimedBy: string | null;
  createdAt: Date;
  /** Not handed out after this. */
  pickupBy: Date;
  claimedAt: Date | null;
  heartbeatAt: Date | null;
  endedAt: Date | null;
  result: Json;
}
/** Who long-polled for an agent, and when, for the agents list (migration 1734500000000). Read and written with SQL only (db/agent-attempts.ts). */
export interface AgentPoller {
  accountId: string;
  agentName: string;
  identity: string;
  seenAt: Date;
}

export const AgentEntity = new EntitySchema<Agent>({
  name: 'Agent',
  tableName: 'agents',
  columns: {
    accountId: { ...text, name: 'account_id', primary: true },
    name: { ...text, primary: true },
    taskQueue: { ...textNull, name: 'task_queue' },
    registeredBy: { ...textNull, name: 'registered_by' },
    createdAt: { ...tsFull('created_at'), createDate: true },
    registeredAt: { ...tsFull('registered_at'), default: now },
  },
});

export const AgentAttemptEntity = new EntitySchema<AgentAttempt>({
  name: 'AgentAttempt',
  tableName: 'agent_attempts',
  columns: {
    id: { ...text, primary: true },
    accountId: { ...text, name: 'account_id' },
    agentName: { ...text, name: 'agent_name' },
    runId: { ...text, name: 'run_id' },
    publicRunId: { ...text, name: 'public_run_id' },
    stepKey: { ...text, name: 'step_key' },
    attempt: int,
    call: jsonbNull,
    status: { ...text, default: 'queued' },
    claimedBy: { ...textNull, name: 'claimed_by' },
    createdAt: { ...ts('created_at'), createDate: true },
    pickupBy: ts('pickup_by'),
    claimedAt: tsNull('claimed_at'),
    heartbeatAt: tsNull('heartbeat_at'),
    endedAt: tsNull('ended_at'),
    result: jsonbNull,
  },
});

export const AgentPollerEntity = new EntitySchema<AgentPoller>({
  name: 'AgentPoller',
  tableName: 'agent_pollers',
  columns: {
    accountId: { ...text, name: 'account_id', primary: true },
    agentName: { ...text, name: 'agent_name', primary: true },
    identity: { ...text, primary: true },
    seenAt: { ...ts('seen_at'), default: now },
  },
});
