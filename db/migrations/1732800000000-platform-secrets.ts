import { randomBytes } from 'node:crypto';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A random key every gateway replica shares, so ids derived from an Idempotency-Key cannot be predicted from outside. */
export class PlatformSecrets1732800000000 implements MigrationInterface {
  name = 'PlatformSecrets1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE platform_secrets (name text PRIMARY KEY, value text NOT NULL)`);
    await q.query(`INSERT INTO platform_secrets (name, value) VALUES ('derived-ids', $1)`, [randomBytes(32).toString('hex')]);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE platform_secrets`);
  }
}
