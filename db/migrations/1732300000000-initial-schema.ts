import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Accounts and keys, apps and builds, versioned flows, batches, runs and their projections. */
export class InitialSchema1732300000000 implements MigrationInterface {
  name = 'InitialSchema1732300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE accounts (
        id text PRIMARY KEY,
        name text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      );
      CREATE TABLE api_keys (
        id text PRIMARY KEY,
        account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        key_prefix text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        revoked_at timestamptz(3)
      );
      CREATE INDEX api_keys_account ON api_keys (account_id, created_at);

      CREATE TABLE apps (
        id text PRIMARY KEY,
        account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name text NOT NULL,
        platform text NOT NULL,
        bundle_id text,
        base_url text,
        variables jsonb NOT NULL DEFAULT '{}',
        active_build_id text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      );
      CREATE INDEX apps_account_page ON apps (account_id, created_at DESC, id DESC);
      CREATE UNIQUE INDEX apps_bundle ON apps (account_id, platform, bundle_id) WHERE bundle_id IS NOT NULL;

      CREATE TABLE builds (
        id text PRIMARY KEY,
        account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        app_id text NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        version text,
        variables jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz(3) NOT NULL DEFAULT now()
      );
      CREATE INDEX builds_app_page ON builds (app_id, created_at DESC, id DESC);

      CREATE TABLE flows (
        account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        id text NOT NULL,
        name text NOT NULL,
        type text NOT NULL,
        version integer NOT NULL,
        definition jsonb NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        deleted_at timestamptz(3),
        PRIMARY KEY (account_id, id)
      );
      CREATE INDEX flows_account_page ON flows (account_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

      CREATE TABLE flow_versions (
        account_id text NOT NULL,
        flow_id text NOT NULL,
        version integer NOT NULL,
        definition jsonb NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, flow_id, version),
        FOREIGN KEY (account_id, flow_id) REFERENCES flows(account_id, id) ON DELETE CASCADE
      );

      CREATE TABLE batches (
        id text PRIMARY KEY,
        account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        source text NOT NULL,
        actor jsonb,
        app_id text,
        build_id text,
        browser text,
        variables jsonb NOT NULL DEFAULT '{}',
        tags jsonb NOT NULL DEFAULT '[]',
        max_parallel integer NOT NULL,
        idempotency_key text,
        request_hash text,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX batches_idempotency ON batches (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

      CREATE TABLE runs (
        id text PRIMARY KEY,
        account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        batch_id text REFERENCES batches(id) ON DELETE CASCADE,
        position integer NOT NULL DEFAULT 0,
        flow_id text NOT NULL,
        flow_version integer,
        flow_name text NOT NULL,
        flow_type text NOT NULL DEFAULT 'automation',
        status text NOT NULL,
        source text NOT NULL,
        actor jsonb,
        app_id text,
        build_id text,
        browser text,
        trigger_data jsonb,
        variables jsonb NOT NULL DEFAULT '{}',
        tags jsonb NOT NULL DEFAULT '[]',
        outputs jsonb,
        error jsonb,
        external boolean NOT NULL DEFAULT false,
        workflow_id text,
        workflow_run_id text,
        started_at timestamptz(3),
        finished_at timestamptz(3),
        duration_ms integer,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        created_by text,
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_by text,
        reviewed_at timestamptz(3),
        reviewed_by text
      );
      CREATE INDEX runs_flow_page ON runs (account_id, flow_id, created_at DESC, id DESC);
      CREATE INDEX runs_account_page ON runs (account_id, created_at DESC, id DESC);
      CREATE INDEX runs_batch ON runs (batch_id, position);

      CREATE TABLE step_runs (
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step_id text NOT NULL,
        position integer NOT NULL,
        name text NOT NULL,
        type text NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        started_at timestamptz(3),
        finished_at timestamptz(3),
        duration_ms integer,
        output jsonb,
        error text,
        PRIMARY KEY (run_id, step_id)
      );

      CREATE TABLE run_logs (
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key text NOT NULL,
        ts timestamptz(3) NOT NULL,
        level text NOT NULL,
        step_id text,
        message text NOT NULL,
        PRIMARY KEY (run_id, key)
      );
      CREATE INDEX run_logs_time ON run_logs (run_id, ts);

      CREATE TABLE run_requests (
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step_id text NOT NULL,
        attempt integer NOT NULL,
        ts timestamptz(3) NOT NULL,
        method text NOT NULL,
        url text NOT NULL,
        status integer NOT NULL,
        resource_type text NOT NULL,
        duration_ms integer NOT NULL,
        response_size integer NOT NULL,
        error text,
        PRIMARY KEY (run_id, step_id, attempt)
      );

      INSERT INTO accounts (id, name) VALUES ('default', 'Default account');
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE run_requests; DROP TABLE run_logs; DROP TABLE step_runs; DROP TABLE runs; DROP TABLE batches;
      DROP TABLE flow_versions; DROP TABLE flows; DROP TABLE builds; DROP TABLE apps; DROP TABLE api_keys; DROP TABLE accounts;
    `);
  }
}
