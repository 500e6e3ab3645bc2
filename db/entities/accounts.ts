/** Tables of accounts: `accounts`, `api_keys`, and the platform's own `platform_secrets`. */
import { EntitySchema } from 'typeorm';
import { text, ts, tsNull } from './columns';

export interface Account {
  id: string;
  name: string;
  createdAt: Date;
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
/** A secret every gateway replica shares (`derived-ids`: the key of ids derived from an Idempotency-Key); migration 1732800000000. */
export interface PlatformSecret {
  name: string;
  value: string;
}

export const AccountEntity = new EntitySchema<Account>({
  name: 'Account',
  tableName: 'accounts',
  columns: { id: { ...text, primary: true }, name: text, createdAt: { ...ts('created_at'), createDate: true } },
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
    scopes: { type: 'text' as const, array: true },
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
