/** Tenants. Only the admin key creates them, and each is born with its first API key. */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { AccountEntity, type Account } from '../../../../db/entities';
import { keysetPage, type Page, type PageQuery } from '../../../../db/keyset';
import { insertApiKey } from '../api-keys/use-cases';

export const accountSchema = z.object({ id: z.string(), name: z.string(), createdAt: z.string() });
export type AccountDto = z.infer<typeof accountSchema>;

const toDto = (a: Account): AccountDto => ({ id: a.id, name: a.name, createdAt: a.createdAt.toISOString() });

/** Creates the account and its first key, together: an account nobody can call is useless. */
export async function createAccount(ds: DataSource, name: string): Promise<AccountDto & { apiKey: string }> {
  return ds.transaction(async (m) => {
    const account: Account = { id: randomUUID(), name, createdAt: new Date() };
    await m.getRepository(AccountEntity).insert(account);
    const key = await insertApiKey(m, account.id, 'default');
    return { ...toDto(account), apiKey: key.apiKey };
  });
}

export async function listAccounts(ds: DataSource, page: PageQuery): Promise<Page<AccountDto>> {
  return keysetPage(ds.getRepository(AccountEntity).createQueryBuilder('a'), 'a', page, toDto);
}
