import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Standard Webhooks: the secret before the last rotation and when it was rotated, so deliveries
 * are signed with both for a day. Existing secrets keep their key bytes, written in standard
 * base64 (`whsec_<base64>`, as the Standard Webhooks libraries decode it) instead of base64url.
 */
export class WebhookSecretRotation1734200000000 implements MigrationInterface {
  name = 'WebhookSecretRotation1734200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts ADD COLUMN webhook_secret_previous text, ADD COLUMN webhook_secret_rotated_at timestamptz`);
    await q.query(`UPDATE accounts SET webhook_secret = 'whsec_' || translate(substr(webhook_secret, 7), '-_', '+/') WHERE webhook_secret LIKE 'whsec\\_%'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE accounts SET webhook_secret = 'whsec_' || translate(substr(webhook_secret, 7), '+/', '-_') WHERE webhook_secret LIKE 'whsec\\_%'`);
    await q.query(`ALTER TABLE accounts DROP COLUMN webhook_secret_previous, DROP COLUMN webhook_secret_rotated_at`);
  }
}
