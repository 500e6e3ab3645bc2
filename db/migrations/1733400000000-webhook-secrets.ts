import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Each account's key for signing its webhooks, created when first needed. */
export class WebhookSecrets1733400000000 implements MigrationInterface {
  name = 'WebhookSecrets1733400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts ADD COLUMN webhook_secret text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts DROP COLUMN webhook_secret`);
  }
}
