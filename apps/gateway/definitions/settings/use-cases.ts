/** An account's settings: how long its finished runs are kept (the daily retention sweep reads it). */
import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { retentionDays, setRetentionDays } from '../../../../db/accounts';

export const MAX_RETENTION_DAYS = 3650;
/** The migration's default for every account (accounts.retention_days). */
export const DEFAULT_RETENTION_DAYS = 30;
export const settingsSchema = z.object({ retentionDays: z.number().int() });
export const settingsInputSchema = z.object({ retentionDays: z.number().int().min(1).max(MAX_RETENTION_DAYS) });

export async function getSettings(db: DataSource, accountId: string): Promise<z.infer<typeof settingsSchema>> {
  return { retentionDays: (await retentionDays(db, accountId)) ?? DEFAULT_RETENTION_DAYS };
}

export async function putSettings(db: DataSource, accountId: string, input: z.infer<typeof settingsInputSchema>): Promise<z.infer<typeof settingsSchema>> {
  await setRetentionDays(db, accountId, input.retentionDays);
  return getSettings(db, accountId);
}
