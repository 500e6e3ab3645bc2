/** Serves the FlowRun-objects contract (seed 001, docs/api-contracts.md) at /v1/ops/flowrun: a site is an app, a FlowRun one run of a flow for it. */
import { z } from 'zod';
import type { RunDeps } from '../../deps';
import { idempotencyOf } from '../../http/request';
import { defineRoute, type AnyRoute } from '../../http/route';
import { createFlowRun, deleteFlowRun, getFlowRun, listFlowRuns } from './use-cases';
import { FLOWRUN_PATH, flowRunObjectSchema, flowRunPageSchema, flowRunPageView } from './views';

const TAG = 'FlowRun objects';
const DEFAULT_LIMIT = 10;

const createBody = z.object({
  site_id: z.string().trim().min(1).max(200).describe('id of the site (app) to run the flow for'),
  flow_id: z.string().trim().min(1).max(100).describe('id of the flow to run'),
  configs: z
    .object({ end_on_fail: z.boolean().optional().describe("true: the first failed node ends the run; default: the flow's own setting") })
    .nullish(),
});

const idParams = z.object({ id: z.string().min(1) });
const idFields = { id: ['path', 'id'], runId: ['path', 'id'] };

export const flowRunObjectRoutes = (deps: RunDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: FLOWRUN_PATH,
    summary: 'Create a FlowRun: run a flow for a site; answers at once, the run goes on in Temporal',
    tag: TAG,
    body: createBody,
    status: 201,
    response: flowRunObjectSchema,
    fields: { siteId: ['body', 'site_id'], flowIds: () => ['body', 'flow_id'] },
    handler: ({ body, auth, req, baseUrl }) =>
      createFlowRun(deps, auth, {
        siteId: body.site_id,
        flowId: body.flow_id,
        endOnFail: body.configs?.end_on_fail,
        idempotency: idempotencyOf(req),
      }, baseUrl),
  }),
  defineRoute({
    method: 'get',
    path: FLOWRUN_PATH,
    summary: 'FlowRuns of the account, newest first, optionally of one site (limit/offset pages with absolute links)',
    tag: TAG,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(DEFAULT_LIMIT),
      offset: z.coerce.number().int().min(0).default(0),
      site_id: z.string().min(1).optional(),
    }),
    response: flowRunPageSchema,
    fields: { siteId: ['query', 'site_id'] },
    handler: async ({ query, auth, baseUrl }) => {
      const at = { limit: query.limit, offset: query.offset, siteId: query.site_id };
      return flowRunPageView(await listFlowRuns(deps, auth.accountId, at, baseUrl), at, baseUrl);
    },
  }),
  defineRoute({
    method: 'get',
    path: `${FLOWRUN_PATH}/:id`,
    summary: 'Retrieve a FlowRun with live node states',
    tag: TAG,
    params: idParams,
    response: flowRunObjectSchema,
    fields: idFields,
    handler: ({ params, auth, baseUrl }) => getFlowRun(deps, auth.accountId, params.id, baseUrl),
  }),
  defineRoute({
    method: 'delete',
    path: `${FLOWRUN_PATH}/:id`,
    summary: 'Delete a FlowRun: a running one is cancelled in Temporal first; irreversible',
    tag: TAG,
    params: idParams,
    response: z.object({ message: z.literal('flowrun deleted successfully') }),
    fields: idFields,
    handler: async ({ params, auth }) => {
      await deleteFlowRun(deps, auth.accountId, params.id);
      return { message: 'flowrun deleted successfully' as const };
    },
  }),
];
