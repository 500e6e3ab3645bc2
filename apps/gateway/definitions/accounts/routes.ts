/** `/api/v1/accounts`: tenants, admin key only. */
import { z } from 'zod';
import type { GatewayDeps } from '../../deps';
import { pageQuerySchema, pageSchema } from '../../http/paging';
import { defineRoute, type AnyRoute } from '../../http/route';
import { accountSchema, createAccount, listAccounts } from './use-cases';

const TAG = 'Accounts';

export const accountRoutes = ({ dataSource }: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/accounts',
    summary: 'Create an account and its first API key (shown once)',
    tag: TAG,
    auth: 'admin',
    status: 201,
    body: z.object({ name: z.string().trim().min(1).max(200) }),
    response: accountSchema.extend({ apiKey: z.string() }),
    handler: ({ body }) => createAccount(dataSource, body.name),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/accounts',
    summary: 'List accounts',
    tag: TAG,
    auth: 'admin',
    query: pageQuerySchema,
    response: pageSchema(accountSchema),
    handler: ({ query }) => listAccounts(dataSource, query),
  }),
];
