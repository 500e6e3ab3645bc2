/** `/api/v1/flows[/{flowId}]`: versioned flow definitions. */
import { z } from 'zod';
import { flowIdSchema, flowInputSchema } from '../../../../domain/flow-definition';
import { flowJsonSchema } from '../../../../domain/flow-schema';
import type { GatewayDeps } from '../../deps';
import { at, badRequest } from '../../http/errors';
import { pageQuerySchema, pageSchema } from '../../http/paging';
import { defineRoute, reply, type AnyRoute } from '../../http/route';
import { createFlow, deleteFlow, flowSchema, getFlow, listFlows, putFlow } from './use-cases';

const TAG = 'Definitions';

const flowParams = z.object({ flowId: z.string() });

export const flowRoutes = ({ dataSource }: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    scope: 'admin',
    path: '/api/v1/flows',
    summary: 'Create a flow (version 1; the id is generated when absent)',
    tag: TAG,
    status: 201,
    body: flowInputSchema,
    response: flowSchema,
    fields: at('body', 'id'),
    handler: ({ body, auth }) => createFlow(dataSource, auth.accountId, body),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/flows',
    summary: 'List flows',
    tag: TAG,
    query: pageQuerySchema,
    response: pageSchema(flowSchema),
    handler: ({ query, auth }) => listFlows(dataSource, auth.accountId, query),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/flows/:flowId',
    summary: 'Get a flow (its latest version, or ?version=N)',
    tag: TAG,
    params: flowParams,
    query: z.object({ version: z.coerce.number().int().min(1).optional() }),
    response: flowSchema,
    fields: { ...at('path', 'flowId'), ...at('query', 'version') },
    handler: ({ params, query, auth }) => getFlow(dataSource, auth.accountId, params.flowId, query.version),
  }),
  defineRoute({
    method: 'put',
    scope: 'admin',
    path: '/api/v1/flows/:flowId',
    summary: 'Save a new version of a flow (201 when it creates the flow)',
    tag: TAG,
    params: z.object({ flowId: flowIdSchema }),
    body: flowInputSchema,
    response: flowSchema,
    handler: async ({ params, body, auth }) => {
      if (body.id !== undefined && body.id !== params.flowId)
        throw badRequest(`body.id: "${body.id}" differs from the path's flow id "${params.flowId}"`, ['body', 'id']);
      const { flow, created } = await putFlow(dataSource, auth.accountId, params.flowId, body);
      return reply(created ? 201 : 200, flow);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/schemas/flow.json',
    summary: "The flow definition's JSON Schema (public, for editors: generated from the schema POST /api/v1/flows validates with)",
    tag: TAG,
    auth: 'none',
    handler: ({ res }) => {
      res.type('application/schema+json').set('Cache-Control', 'public, max-age=300').send(JSON.stringify(flowJsonSchema()));
    },
  }),
  defineRoute({
    method: 'delete',
    scope: 'admin',
    path: '/api/v1/flows/:flowId',
    summary: 'Delete a flow (its runs keep their history)',
    tag: TAG,
    status: 204,
    params: flowParams,
    fields: at('path', 'flowId'),
    handler: ({ params, auth }) => deleteFlow(dataSource, auth.accountId, params.flowId),
  }),
];
