/** Tables of accounts: `accounts`, `api_keys`, `dashboard_sessions`, and the platform's own `platform_secrets`. */
import { EntitySchema } from 'typeorm';
import { text, textNull, ts, tsNull, tsFullNull, int } from './columns';

export interface Account {
  id: string;
  name: string;
  createdAt: Date;
  /**
   * The key signing the account's webhooks (`whsec_<base64>`), made when first needed, and the one
   * before the last rotation with when it was rotated (migrations 1733400000000, 1734200000000).
   * Read and written with SQL only (db/webhook-secrets.ts); the two secrets are `select: false`, so
   * loading an account never loads them.
   */
  webhookSecret?: string | null;
  webhookSecretPrevious?: string | null;
  webhookSecretRotatedAt?: Date | null;
  /** Days a finished run is kept (migration 1733800000000; db/accounts.ts, db/retention.ts). */
  retentionDays?: number;
}
export interface ApiKey {
  id: string;
  accountId: string;
  name: string;
  keyHash: string;
  keyPrefix: string;
  /** `read`, `run` and/or `admin`. */
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}
/**
 * A dashboard sign-in (migration 1734300000000), by the sha256 of its session id (never the id or
 * the key). Exactly one of `keyId` (the key signed in with, checked again on every request) and
 * `adminKeyHash` (the admin key's sha256) is set: a CHECK constraint the migration makes. Read and
 * written with SQL only (db/dashboard-sessions.ts).
 */
export interface DashboardSession {
  idHash: string;
  accountId: string;
  keyId: string | null;
  adminKeyHash: string | null;
  createdAt: Date;
  expiresAt: Date;
}
/** A secret every gateway replica shares (`derived-ids`: the key of ids derived from an Idempotency-Key); migration 1732800000000. */
export interface PlatformSecret {
  name: string;
  value: string;
}

export const AccountEntity = new EntitySchema<Account>({
  name: 'Account',
  tableName: 'accounts',
  columns: {
    id: { ...text, primary: true },
    name: text,
    createdAt: { ...ts('created_at'), createDate: true },
    webhookSecret: { ...textNull, name: 'webhook_secret', select: false },
    retentionDays: { ...int, name: 'retention_days', default: 30 },
    webhookSecretPrevious: { ...textNull, name: 'webhook_secret_previous', select: false },
    webhookSecretRotatedAt: tsFullNull('webhook_secret_rotated_at'),
  },
});

export const ApiKeyEntity = new EntitySchema<ApiKey>({
  name: 'ApiKey',
  tableName: 'api_keys',
  columns: {
    id: { ...text, primary: true },
    accountId: { ...text, name: 'account_id' },
    name: text,
    keyHash: { ...text, name: 'key_hash' },
    keyPrefix: { ...text, name: 'key_prefix' },
    scopes: { type: 'text' as const, array: true, default: () => "'{read,run,admin}'" },
    createdAt: { ...ts('created_at'), createDate: true },
    expiresAt: tsNull('expires_at'),
    revokedAt: tsNull('revoked_at'),
  },
});

export const PlatformSecretEntity = new EntitySchema<PlatformSecret>({
  name: 'PlatformSecret',
  tableName: 'platform_secrets',
  columns: { name: { ...text, primary: true }, value: text },
});

export const DashboardSessionEntity = new EntitySchema<DashboardSession>({
  name: 'DashboardSession',
  tableName: 'dashboard_sessions',
  columns: {
    idHash: { ...text, name: 'id_hash', primary: true },
    accountId: { ...text, name: 'account_id' },
    keyId: { ...textNull, name: 'key_id' },
    adminKeyHash: { ...textNull, name: 'admin_key_hash' },
    createdAt: { ...ts('created_at'), createDate: true },
    expiresAt: ts('expires_at'),
  },
});
