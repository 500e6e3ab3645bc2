import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Agents talk to the gateway, never to Temporal (db/agent-attempts.ts). `agent_attempts`: one step
 * attempt handed to an account's agent of one name, from `queued` to `claimed` (an agent took it
 * and beats) to an end: `done` (its result), `cancelled` (the run was, or nobody took it in time)
 * or `lost` (its agent stopped beating). The call is dropped once the attempt has ended; one not
 * taken by `pickup_by` is never handed out (its workflow may be gone, e.g. terminated).
 * `agent_pollers`: who long-polled for which agent, and when, for the agents list. Agents have no
 * task queue any more.
 */
export class AgentAttempts1734500000000 implements MigrationInterface {
  name = 'AgentAttempts1734500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE agent_attempts (
        id text PRIMARY KEY,
        account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        agent_name text NOT NULL,
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        public_run_id text NOT NULL,
        step_key text NOT NULL,
        attempt integer NOT NULL,
        call jsonb,
        status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'claimed', 'done', 'cancelled', 'lost')),
        claimed_by text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        pickup_by timestamptz(3) NOT NULL,
        claimed_at timestamptz(3),
        heartbeat_at timestamptz(3),
        ended_at timestamptz(3),
        result jsonb
      )`);
    await q.query(`CREATE INDEX agent_attempts_queued ON agent_attempts (account_id, agent_name, created_at) WHERE status = 'queued'`);
    await q.query(`CREATE INDEX agent_attempts_claimed ON agent_attempts (account_id, agent_name) WHERE status = 'claimed'`);
    await q.query(`CREATE INDEX agent_attempts_run ON agent_attempts (run_id)`);
    await q.query(`
      CREATE TABLE agent_pollers (
        account_id text NOT NULL,
        agent_name text NOT NULL,
        identity text NOT NULL,
        seen_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, agent_name, identity),
        FOREIGN KEY (account_id, agent_name) REFERENCES agents(account_id, name) ON DELETE CASCADE
      )`);
    await q.query(`ALTER TABLE agents ALTER COLUMN task_queue DROP NOT NULL`);
    await q.query(`ALTER TABLE agents DROP CONSTRAINT IF EXISTS agents_task_queue_key`);
    await q.query(`UPDATE agents SET task_queue = NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE agent_pollers`);
    await q.query(`DROP TABLE agent_attempts`);
    await q.query(`UPDATE agents SET task_queue = 'agent-' || account_id || '-' || name`);
    await q.query(`ALTER TABLE agents ALTER COLUMN task_queue SET NOT NULL`);
    await q.query(`ALTER TABLE agents ADD CONSTRAINT agents_task_queue_key UNIQUE (task_queue)`);
  }
}
