/** `/api/v1/suites`: ordered flows, an optional auth flow and suite-scoped variables. */
import { z } from 'zod';
import { flowIdSchema } from '../../../domain/flow-definition';
import type { GatewayDeps } from '../deps';
import { pageQuerySchema, pageSchema } from '../http/paging';
import { defineRoute, reply, type AnyRoute } from '../http/route';
import { createSuite, deleteSuite, getSuiteDto, listSuites, replaceSuite } from '../use-cases/suites';

const suiteInput = z.object({
  id: flowIdSchema.optional(),
  name: z.string().trim().min(1).max(200),
  flowIds: z.array(z.string().min(1)).max(500).default([]),
  authFlowId: z.string().min(1).nullable().optional(),
  variables: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
});

const suiteSchema = z.object({
  id: z.string(),
  name: z.string(),
  flowIds: z.array(z.string()),
  authFlowId: z.string().nullable(),
  variables: z.record(z.string(), z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const params = z.object({ suiteId: z.string().min(1) });

export const suiteRoutes = ({ dataSource }: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/suites',
    tag: 'suites',
    summary: 'Create a suite',
    status: 201,
    body: suiteInput,
    response: suiteSchema,
    handler: ({ body, auth }) => createSuite(dataSource, auth.accountId, body),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/suites',
    tag: 'suites',
    summary: 'List suites, newest first',
    query: pageQuerySchema,
    response: pageSchema(suiteSchema),
    handler: ({ query, auth }) => listSuites(dataSource, auth.accountId, query),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/suites/:suiteId',
    tag: 'suites',
    summary: 'Get a suite',
    params,
    response: suiteSchema,
    handler: ({ params: p, auth }) => getSuiteDto(dataSource, auth.accountId, p.suiteId),
  }),
  defineRoute({
    method: 'put',
    path: '/api/v1/suites/:suiteId',
    tag: 'suites',
    summary: 'Replace a suite',
    params,
    body: suiteInput,
    response: suiteSchema,
    handler: ({ params: p, body, auth }) => replaceSuite(dataSource, auth.accountId, p.suiteId, body),
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/suites/:suiteId',
    tag: 'suites',
    summary: 'Delete a suite (its runs keep their history)',
    params,
    status: 204,
    handler: async ({ params: p, auth }) => {
      await deleteSuite(dataSource, auth.accountId, p.suiteId);
      return reply(204, undefined);
    },
  }),
];
