import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What several gateways share through Postgres instead of each keeping its own (SPEC §10, issue 27):
 * - `rate_buckets` (unlogged: a crash merely refills them): one token bucket per key, per account
 *   and per sign-in address; `flowruns_rate_take` takes a token from each named bucket, or from none,
 *   in one call, locking the rows in name order so concurrent callers never deadlock.
 * - `event_streams` (unlogged): the live streams open on every gateway, each with its gateway and a
 *   heartbeat, so an account's cap counts them all; a gateway that dies stops beating and its rows
 *   stop counting.
 * - `run_logs` notifies the channel `flowruns_run_logs` once per inserting statement with the runs
 *   and batches it wrote for (comma-separated; `*` when too many for one notification), on commit,
 *   so a stream wakes when there is something to read instead of polling.
 */
export class SharedGatewayState1734650000000 implements MigrationInterface {
  name = 'SharedGatewayState1734650000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNLOGGED TABLE rate_buckets (
        name text PRIMARY KEY,
        tokens double precision NOT NULL,
        at timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE FUNCTION flowruns_rate_take(p_names text[], p_per_minute double precision[])
        RETURNS TABLE (name text, per_minute double precision, burst double precision, tokens double precision, wait_seconds double precision)
        LANGUAGE plpgsql AS $$
      DECLARE
        n integer := coalesce(array_length(p_names, 1), 0);
        have double precision[] := '{}';
        bursts double precision[] := '{}';
        ok boolean := true;
        t timestamptz;
        held double precision;
        held_at timestamptz;
        b double precision;
      BEGIN
        FOR i IN 1..n LOOP
          b := greatest(1, ceil(p_per_minute[i] / 6));
          bursts[i] := b;
          INSERT INTO rate_buckets AS r (name, tokens, at) VALUES (p_names[i], b, clock_timestamp()) ON CONFLICT ON CONSTRAINT rate_buckets_pkey DO NOTHING;
          PERFORM 1 FROM rate_buckets r WHERE r.name = p_names[i] FOR UPDATE;
        END LOOP;
        t := clock_timestamp();
        FOR i IN 1..n LOOP
          SELECT r.tokens, r.at INTO held, held_at FROM rate_buckets r WHERE r.name = p_names[i];
          have[i] := least(bursts[i], held + greatest(0, extract(epoch FROM t - held_at)) * p_per_minute[i] / 60);
          IF have[i] < 1 THEN ok := false; END IF;
        END LOOP;
        FOR i IN 1..n LOOP
          IF ok THEN have[i] := have[i] - 1; END IF;
          UPDATE rate_buckets r SET tokens = have[i], at = t WHERE r.name = p_names[i];
          name := p_names[i];
          per_minute := p_per_minute[i];
          burst := bursts[i];
          tokens := have[i];
          wait_seconds := CASE WHEN ok OR have[i] >= 1 THEN 0 ELSE (1 - have[i]) * 60 / p_per_minute[i] END;
          RETURN NEXT;
        END LOOP;
      END $$`);
    await q.query(`
      CREATE UNLOGGED TABLE event_streams (
        id uuid PRIMARY KEY,
        account_id text NOT NULL,
        key_id text NOT NULL,
        gateway_id text NOT NULL,
        opened_at timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX event_streams_account ON event_streams (account_id, heartbeat_at)`);
    await q.query(`
      CREATE FUNCTION flowruns_run_logs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE payload text;
      BEGIN
        SELECT string_agg(DISTINCT s.t, ',') INTO payload FROM (
          SELECT r.id AS t FROM added a JOIN runs r ON r.id = a.run_id
          UNION SELECT r.batch_id FROM added a JOIN runs r ON r.id = a.run_id WHERE r.batch_id IS NOT NULL
        ) s;
        IF payload IS NULL THEN RETURN NULL; END IF;
        IF octet_length(payload) > 7000 THEN payload := '*'; END IF;
        PERFORM pg_notify('flowruns_run_logs', payload);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER run_logs_notify AFTER INSERT ON run_logs REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION flowruns_run_logs_notify()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER run_logs_notify ON run_logs`);
    await q.query(`DROP FUNCTION flowruns_run_logs_notify()`);
    await q.query(`DROP TABLE event_streams`);
    await q.query(`DROP FUNCTION flowruns_rate_take(text[], double precision[])`);
    await q.query(`DROP TABLE rate_buckets`);
  }
}
