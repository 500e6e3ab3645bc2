/** `/api/v1/api-keys`: a caller manages the keys of its own account; the admin key, of any. */
import { z } from 'zod';
import type { GatewayDeps } from '../deps';
import { forbidden } from '../http/errors';
import { pageQuerySchema, pageSchema } from '../http/paging';
import { defineRoute, type AnyRoute } from '../http/route';
import { createApiKey, listApiKeys, revokeApiKey } from '../use-cases/api-keys';

const keySchema = z.object({
  id: z.string(),
  accountId: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

export const apiKeyRoutes = ({ dataSource }: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/api-keys',
    summary: 'Create an API key (the secret is shown once)',
    tag: 'api-keys',
    status: 201,
    body: z.object({
      name: z.string().trim().min(1).max(200),
      accountId: z.string().min(1).optional().describe('admin key only: the account the key belongs to'),
    }),
    response: keySchema.extend({ apiKey: z.string() }),
    handler: ({ body, auth }) => createApiKey(dataSource, auth, body),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/api-keys',
    summary: "List the account's API keys (never their secrets)",
    tag: 'api-keys',
    query: pageQuerySchema.extend({
      accountId: z.string().min(1).optional().describe('admin key only: another account'),
    }),
    response: pageSchema(keySchema),
    handler: ({ query, auth }) => {
      const { accountId = auth.accountId, ...page } = query;
      if (accountId !== auth.accountId && !auth.isAdmin) throw forbidden("only the admin key may list another account's keys");
      return listApiKeys(dataSource, accountId, page);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/api-keys/:keyId',
    summary: 'Revoke an API key',
    tag: 'api-keys',
    params: z.object({ keyId: z.string() }),
    response: z.object({ id: z.string(), revokedAt: z.string() }),
    handler: ({ params, auth }) => revokeApiKey(dataSource, auth, params.keyId),
  }),
];
