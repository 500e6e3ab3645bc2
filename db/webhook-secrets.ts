/**
 * Each account's webhook signing secrets (Standard Webhooks): `whsec_<base64 of 32 random bytes>`,
 * created on first use and kept in `accounts` as the platform's other secrets are. A rotation keeps
 * the secret it replaces for {@link WEBHOOK_ROTATION_OVERLAP_HOURS} hours, during which deliveries carry a
 * signature with each, so receivers can switch without losing a delivery.
 */
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';

/** How long after a rotation the previous secret still signs deliveries. */
export const WEBHOOK_ROTATION_OVERLAP_HOURS = 24;

const freshSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** The account's current secret, created on first use (concurrent first uses agree on one). */
export async function webhookSecret(ds: DataSource, accountId: string): Promise<string> {
  const rows = (await ds.query(`UPDATE accounts SET webhook_secret = COALESCE(webhook_secret, $2) WHERE id = $1 RETURNING webhook_secret`, [
    accountId,
    freshSecret(),
  ])) as [{ webhook_secret: string }[], number];
  const secret = rows[0]?.[0]?.webhook_secret;
  if (!secret) throw new Error(`account ${accountId} does not exist`);
  return secret;
}

/** The secrets a delivery is signed with now: the current one, and the previous one within a day of a rotation. */
export async function webhookSigningSecrets(ds: DataSource, accountId: string): Promise<string[]> {
  const current = await webhookSecret(ds, accountId);
  const [row] = (await ds.query(
    `SELECT webhook_secret_previous AS previous FROM accounts
      WHERE id = $1 AND webhook_secret_previous IS NOT NULL AND webhook_secret_rotated_at > now() - make_interval(hours => $2)`,
    [accountId, WEBHOOK_ROTATION_OVERLAP_HOURS],
  )) as { previous: string }[];
  return row && row.previous !== current ? [current, row.previous] : [current];
}

/** Replaces the account's secret with a new one, which it answers; the replaced one signs too for a day. */
export async function rotateWebhookSecret(ds: DataSource, accountId: string): Promise<string> {
  const rows = (await ds.query(
    `UPDATE accounts SET webhook_secret_previous = webhook_secret, webhook_secret = $2, webhook_secret_rotated_at = now() WHERE id = $1 RETURNING webhook_secret`,
    [accountId, freshSecret()],
  )) as [{ webhook_secret: string }[], number];
  const secret = rows[0]?.[0]?.webhook_secret;
  if (!secret) throw new Error(`account ${accountId} does not exist`);
  return secret;
}
