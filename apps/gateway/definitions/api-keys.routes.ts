/**
 * `/api/v1/api-keys`: a caller manages the keys of its own account; the admin key, of any. And
 * `/api/v1/webhook-secret`: the account's key for verifying its webhooks' signatures.
 */
import { z } from 'zod';
import { webhookSecret } from '../../../db/data-source';
import { SIGNATURE_HEADER } from '../../../domain/webhooks';
import { SCOPES, type GatewayDeps } from '../deps';
import { at } from '../http/errors';
import { pageQuerySchema, pageSchema } from '../http/paging';
import { defineRoute, type AnyRoute } from '../http/route';
import { apiKeySchema, createApiKey, listApiKeys, revokeApiKey } from './api-keys';

const TAG = 'API keys';

export const apiKeyRoutes = ({ dataSource, config }: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/webhook-secret',
    summary: `The account's webhook secret: each webhook carries ${SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the body> keyed by it`,
    tag: TAG,
    scope: 'admin',
    response: z.object({ secret: z.string(), header: z.string(), algorithm: z.literal('sha256') }),
    handler: async ({ auth }) => ({ secret: await webhookSecret(dataSource, auth.accountId), header: SIGNATURE_HEADER, algorithm: 'sha256' as const }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/api-keys',
    summary: 'Create an API key (the secret is shown once)',
    tag: TAG,
    status: 201,
    body: z.object({
      name: z.string().trim().min(1).max(200),
      accountId: z.string().min(1).optional().describe('admin key only: the account the key belongs to'),
      scopes: z.array(z.enum(SCOPES)).min(1).optional().describe('read, run and/or admin; default all three'),
      expiresAt: z.iso.datetime({ offset: true }).transform((s) => new Date(s)).optional().describe('after this time the key is refused (401)'),
    }),
    response: apiKeySchema.extend({ apiKey: z.string() }),
    scope: 'admin',
    fields: at('body', 'accountId', 'expiresAt'),
    handler: ({ body, auth }) => createApiKey(dataSource, auth, body, config.maxKeysPerAccount),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/api-keys',
    summary: "List the account's API keys (never their secrets)",
    tag: TAG,
    scope: 'admin',
    query: pageQuerySchema.extend({
      accountId: z.string().min(1).optional().describe('admin key only: another account'),
    }),
    response: pageSchema(apiKeySchema),
    handler: ({ query, auth }) => {
      const { accountId = auth.accountId, ...page } = query;
      return listApiKeys(dataSource, auth, accountId, page);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/api-keys/:keyId',
    summary: 'Revoke an API key',
    tag: TAG,
    scope: 'admin',
    params: z.object({ keyId: z.string() }),
    response: z.object({ id: z.string(), revokedAt: z.string() }),
    fields: at('path', 'keyId'),
    handler: ({ params, auth }) => revokeApiKey(dataSource, auth, params.keyId),
  }),
];
