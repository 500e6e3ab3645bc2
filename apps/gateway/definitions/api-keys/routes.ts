/**
 * `/api/v1/api-keys`: a caller manages the keys of its own account; the admin key, of any. And
 * `/api/v1/webhook-secret`: the account's key for verifying its webhooks' signatures (Standard Webhooks).
 */
import { z } from 'zod';
import { rotateWebhookSecret, webhookSecret, WEBHOOK_ROTATION_OVERLAP_HOURS } from '../../../../db/webhook-secrets';
import { SCOPES, type GatewayDeps } from '../../deps';
import { at } from '../../http/errors';
import { pageQuerySchema, pageSchema } from '../../http/paging';
import { defineRoute, type AnyRoute } from '../../http/route';
import { apiKeySchema, createApiKey, listApiKeys, revokeApiKey } from './use-cases';

const TAG = 'API keys';

const webhookSecretSchema = z.object({ secret: z.string().describe('whsec_<base64 key>, as the Standard Webhooks libraries take it') });

export const apiKeyRoutes = ({ dataSource, config }: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/webhook-secret',
    summary:
      "The account's webhook secret (`whsec_<base64 key>`): each webhook carries the Standard Webhooks headers webhook-id, webhook-timestamp and webhook-signature (`v1,<base64 HMAC-SHA256 of \"{id}.{timestamp}.{body}\">` keyed by it)",
    tag: TAG,
    scope: 'admin',
    response: webhookSecretSchema,
    handler: async ({ auth }) => ({ secret: await webhookSecret(dataSource, auth.accountId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/webhook-secret/rotate',
    summary: `Replace the account's webhook secret and answer the new one; for ${WEBHOOK_ROTATION_OVERLAP_HOURS} hours deliveries carry a signature with the old one too`,
    tag: TAG,
    scope: 'admin',
    response: webhookSecretSchema,
    handler: async ({ auth }) => ({ secret: await rotateWebhookSecret(dataSource, auth.accountId) }),
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
