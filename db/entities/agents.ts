/** The `agents` table (their attempts: db/agent-attempts.ts). */
import { EntitySchema } from 'typeorm';
import { text, textNull, ts } from './columns';

export interface Agent {
  accountId: string;
  name: string;
  /** Unused since agents talk to the gateway only (db/agent-attempts.ts); kept for the schema's history. */
  taskQueue: string | null;
  registeredBy: string | null;
  createdAt: Date;
  registeredAt: Date;
}

export const AgentEntity = new EntitySchema<Agent>({
  name: 'Agent',
  tableName: 'agents',
  columns: {
    accountId: { ...text, name: 'account_id', primary: true },
    name: { ...text, primary: true },
    taskQueue: { ...textNull, name: 'task_queue' },
    registeredBy: { ...textNull, name: 'registered_by' },
    createdAt: { ...ts('created_at'), createDate: true },
    registeredAt: ts('registered_at'),
  },
});
