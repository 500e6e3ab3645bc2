/** `/api/v1/flows[/{flowId}]`: versioned flow definitions (SPEC §4). */
import { z } from 'zod';
import { flowIdSchema, flowInputSchema } from '../../../domain/flow-definition';
import { stepSchema } from '../../../steps';
import { FLOW_TYPES } from '../../../domain/flow-types';
import type { GatewayDeps } from '../deps';
import { pageQuerySchema, pageSchema } from '../http/paging';
import { defineRoute, reply, type AnyRoute } from '../http/route';
import { createFlow, deleteFlow, getFlow, listFlows, putFlow } from '../use-cases/flows';

const flowSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(FLOW_TYPES),
  description: z.string().optional(),
  variables: z.record(z.string(), z.string()),
  configs: z.object({ endOnFail: z.boolean().optional(), timeoutMs: z.number().optional() }),
  steps: z.array(stepSchema),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const flowParams = z.object({ flowId: z.string() });

export const flowRoutes = ({ dataSource }: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/flows',
    summary: 'Create a flow (version 1; the id is generated when absent)',
    tag: 'flows',
    status: 201,
    body: flowInputSchema,
    response: flowSchema,
    handler: ({ body, auth }) => createFlow(dataSource, auth.accountId, body),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/flows',
    summary: 'List flows',
    tag: 'flows',
    query: pageQuerySchema,
    response: pageSchema(flowSchema),
    handler: ({ query, auth }) => listFlows(dataSource, auth.accountId, query),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/flows/:flowId',
    summary: 'Get a flow (its latest version, or ?version=N)',
    tag: 'flows',
    params: flowParams,
    query: z.object({ version: z.coerce.number().int().min(1).optional() }),
    response: flowSchema,
    handler: ({ params, query, auth }) => getFlow(dataSource, auth.accountId, params.flowId, query.version),
  }),
  defineRoute({
    method: 'put',
    path: '/api/v1/flows/:flowId',
    summary: 'Save a new version of a flow (201 when it creates the flow)',
    tag: 'flows',
    params: z.object({ flowId: flowIdSchema }),
    body: flowInputSchema,
    response: flowSchema,
    handler: async ({ params, body, auth }) => {
      const { flow, created } = await putFlow(dataSource, auth.accountId, params.flowId, body);
      return reply(created ? 201 : 200, flow);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/flows/:flowId',
    summary: 'Delete a flow (its runs keep their history)',
    tag: 'flows',
    status: 204,
    params: flowParams,
    handler: ({ params, auth }) => deleteFlow(dataSource, auth.accountId, params.flowId),
  }),
];
