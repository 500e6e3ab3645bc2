/** Seed 001 FlowRun objects at /v1/ops/flowrun: a site is an app, a FlowRun one run of a flow for it. */
import { z } from 'zod';
import type { GatewayDeps } from '../deps';
import { badRequest } from '../http/errors';
import { defineRoute, type AnyRoute } from '../http/route';
import { RunReconciler } from '../use-cases/reconcile';
import { createFlowRun, deleteFlowRun, FLOWRUN_PATH, getFlowRun, listFlowRuns } from '../use-cases/seed001-flowruns';

const TAG = 'FlowRuns (seed 001)';
const DEFAULT_LIMIT = 10;

const createBody = z.object({
  site_id: z.string().trim().min(1).max(200).describe('id of the site (app) to run the flow for'),
  flow_id: z.string().trim().min(1).max(100).describe('id of the flow to run'),
  configs: z
    .object({ end_on_fail: z.boolean().optional().describe('true: the first failed node ends the run; default: the flow\'s own setting') })
    .nullish(),
});

const iso = z.string().nullable();
const position = z.object({ x: z.number(), y: z.number() });
const node = z.object({
  id: z.string(),
  type: z.literal('basic'),
  measured: z.object({ width: z.number(), height: z.number() }),
  parentId: z.string().nullable(),
  position,
  data: z
    .object({
      id: z.string(),
      name: z.string(),
      status: z.enum(['queued', 'working', 'passed', 'failed', 'skipped', 'cancelled']),
      task_type: z.string(),
      configs: z.record(z.string(), z.unknown()),
      parentId: z.string().nullable(),
      position,
      message: z.string(),
      request_type: z.string().nullable(),
      uri: z.string(),
      headers: z.string(),
      payload: z.string(),
      start_if: z.string().nullable(),
      finalized: z.boolean(),
      attempts: z.number(),
      output: z.unknown(),
      time_started: iso,
      time_completed: iso,
    })
    .loose(),
});
const flowRunObject = z.object({
  id: z.string(),
  user: z.string().nullable(),
  account: z.string(),
  flow: z.string(),
  time_created: z.string(),
  title: z.string(),
  nodes: z.array(node),
  edges: z.array(
    z.object({ id: z.string(), type: z.literal('smoothstep'), style: z.null(), source: z.string(), target: z.string(), animated: z.boolean() }),
  ),
  status: z.enum(['queued', 'working', 'passed', 'failed', 'cancelled']),
  time_completed: iso,
  logs: z.array(z.object({ timestamp: z.string(), message: z.string(), step: z.string().nullable() })),
  site: z.string(),
  configs: z.object({ end_on_fail: z.boolean() }),
});
const idParams = z.object({ id: z.string().min(1) });

const idempotencyKey = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined;
  if (header.length < 1 || header.length > 255) throw badRequest('Idempotency-Key must be 1 to 255 characters', ['header', 'Idempotency-Key']);
  return header;
};

/** Seed 001 FlowRun objects at /v1/ops/flowrun. */
export const seed001Routes = (deps: GatewayDeps): AnyRoute[] => {
  const d = { ...deps, reconciler: new RunReconciler(deps) };
  return [
    defineRoute({
      method: 'post',
      path: FLOWRUN_PATH,
      summary: 'Create a FlowRun: run a flow for a site; answers at once, the run goes on in Temporal',
      tag: TAG,
      body: createBody,
      status: 201,
      response: flowRunObject,
      handler: ({ body, auth, req }) =>
        createFlowRun(d, auth, body, { idempotencyKey: idempotencyKey(req.get('Idempotency-Key')), fingerprint: { path: req.path, body: req.body } }),
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
      response: z.object({ count: z.number(), next: iso, previous: iso, results: z.array(flowRunObject) }),
      handler: ({ query, auth, baseUrl }) => listFlowRuns(d, auth.accountId, query, baseUrl),
    }),
    defineRoute({
      method: 'get',
      path: `${FLOWRUN_PATH}/:id`,
      summary: 'Retrieve a FlowRun with live node states',
      tag: TAG,
      params: idParams,
      response: flowRunObject,
      handler: ({ params, auth }) => getFlowRun(d, auth.accountId, params.id),
    }),
    defineRoute({
      method: 'delete',
      path: `${FLOWRUN_PATH}/:id`,
      summary: 'Delete a FlowRun: a running one is cancelled in Temporal first; irreversible',
      tag: TAG,
      params: idParams,
      response: z.object({ message: z.literal('flowrun deleted successfully') }),
      handler: ({ params, auth }) => deleteFlowRun(d, auth.accountId, params.id),
    }),
  ];
};
