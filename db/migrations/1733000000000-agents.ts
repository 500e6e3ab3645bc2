import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Agents belong to an account: registered with one of its keys, each with its own task queue. */
export class Agents1733000000000 implements MigrationInterface {
  name = 'Agents1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE agents (
        account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name text NOT NULL,
        task_queue text NOT NULL UNIQUE,
        registered_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        registered_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, name)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE agents`);
  }
}
