/** `/api/v1/suites`: ordered flows, an optional auth flow and suite-scoped variables. */
import { z } from 'zod';
import { flowIdSchema, secretsSchema } from '../../../../domain/flow-definition';
import type { GatewayDeps } from '../../deps';
import { at, badRequest } from '../../http/errors';
import { pageQuerySchema, pageSchema } from '../../http/paging';
import { defineRoute, reply, type AnyRoute } from '../../http/route';
import { createSuite, deleteSuite, getSuite, listSuites, replaceSuite, suiteSchema } from './use-cases';

const TAG = 'Definitions';

export const suiteInput = z.strictObject({
  id: flowIdSchema.optional(),
  name: z.string().trim().min(1).max(200),
  flowIds: z.array(z.string().min(1)).max(500).default([]),
  authFlowId: z.string().min(1).nullable().optional(),
  variables: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
  /** Names of secret variables: their values show as `***`; left out of a PUT, the stored list stays. */
  secrets: secretsSchema.optional(),
});

const params = z.object({ suiteId: z.string().min(1) });
const bodyFields = at('body', 'id', 'flowIds', 'authFlowId');

export const suiteRoutes = ({ dataSource }: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    scope: 'admin',
    path: '/api/v1/suites',
    tag: TAG,
    summary: 'Create a suite',
    status: 201,
    body: suiteInput,
    response: suiteSchema,
    fields: bodyFields,
    handler: ({ body, auth }) => createSuite(dataSource, auth.accountId, body),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/suites',
    tag: TAG,
    summary: 'List suites, newest first',
    query: pageQuerySchema,
    response: pageSchema(suiteSchema),
    handler: ({ query, auth }) => listSuites(dataSource, auth.accountId, query),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/suites/:suiteId',
    tag: TAG,
    summary: 'Get a suite',
    params,
    response: suiteSchema,
    fields: at('path', 'suiteId'),
    handler: ({ params: p, auth }) => getSuite(dataSource, auth.accountId, p.suiteId),
  }),
  defineRoute({
    method: 'put',
    scope: 'admin',
    path: '/api/v1/suites/:suiteId',
    tag: TAG,
    summary: 'Replace a suite',
    params,
    body: suiteInput,
    response: suiteSchema,
    fields: { ...bodyFields, ...at('path', 'suiteId') },
    handler: ({ params: p, body, auth }) => {
      if (body.id !== undefined && body.id !== p.suiteId) throw badRequest('body id must match the path', ['body', 'id']);
      return replaceSuite(dataSource, auth.accountId, p.suiteId, body);
    },
  }),
  defineRoute({
    method: 'delete',
    scope: 'admin',
    path: '/api/v1/suites/:suiteId',
    tag: TAG,
    summary: 'Delete a suite (its runs keep their history)',
    params,
    status: 204,
    fields: at('path', 'suiteId'),
    handler: async ({ params: p, auth }) => {
      await deleteSuite(dataSource, auth.accountId, p.suiteId);
      return reply(204, undefined);
    },
  }),
];
