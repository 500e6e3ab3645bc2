import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Suites, apps and builds declare secret variables (flows keep theirs in the stored definition). */
export class Secrets1732600000000 implements MigrationInterface {
  name = 'Secrets1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE suites ADD COLUMN secrets text[] NOT NULL DEFAULT '{}';
      ALTER TABLE apps ADD COLUMN secrets text[] NOT NULL DEFAULT '{}';
      ALTER TABLE builds ADD COLUMN secrets text[] NOT NULL DEFAULT '{}';
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE suites DROP COLUMN secrets; ALTER TABLE apps DROP COLUMN secrets; ALTER TABLE builds DROP COLUMN secrets;`);
  }
}
