/** `/api/v1/accounts`: tenants, admin key only (SPEC §6). */
import { z } from 'zod';
import type { GatewayDeps } from '../deps';
import { pageQuerySchema, pageSchema } from '../http/paging';
import { defineRoute, type AnyRoute } from '../http/route';
import { createAccount, listAccounts } from '../use-cases/accounts';

const accountSchema = z.object({ id: z.string(), name: z.string(), createdAt: z.string() });

export const accountRoutes = ({ dataSource }: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/accounts',
    summary: 'Create an account and its first API key (shown once)',
    tag: 'accounts',
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
    tag: 'accounts',
    auth: 'admin',
    query: pageQuerySchema,
    response: pageSchema(accountSchema),
    handler: ({ query }) => listAccounts(dataSource, query),
  }),
];
