/** Seed 000 `POST /api/v1/flows/run` and seed 004 `POST /api/v1/flows/{flowId}/runs`: both start a batch. */
import { z } from 'zod';
import { BROWSERS, normalizeBrowser } from '../../../domain/browser';
import { flowIdSchema } from '../../../domain/flow-definition';
import { batchStatus, CLIENT_RUN_SOURCES } from '../../../domain/statuses';
import type { GatewayDeps } from '../deps';
import { badRequest } from '../http/errors';
import { defineRoute, type AnyRoute } from '../http/route';
import { triggerBatch, type TriggeredBatch } from '../use-cases/trigger';
import { keyValuesSchema } from '../http/schemas';

const DEFAULT_MAX_PARALLEL = 10;


const tagsSchema = z
  .union([
    z.array(z.union([z.string().min(1), z.object({ key: z.string().min(1), value: z.string() })])),
    z.record(z.string(), z.string()),
  ])
  .transform((tags) =>
    Array.isArray(tags)
      ? tags.map((t) => (typeof t === 'string' ? { key: t, value: '' } : t))
      : Object.entries(tags).map(([key, value]) => ({ key, value })),
  );

const browserSchema = z.string().transform((b, ctx) => {
  const browser = normalizeBrowser(b);
  if (!browser) {
    ctx.addIssue({ code: 'custom', message: `unknown browser "${b}"; expected one of ${BROWSERS.join(', ')}` });
    return z.NEVER;
  }
  return browser;
});

const idList = z.array(z.string().min(1).max(100)).max(500);

export const runFlowsBody = z
  .object({
    app_id: z.string().min(1).optional(),
    bundle_id: z.string().min(1).optional(),
    platform: z.enum(['ios', 'android']).optional(),
    app_build_id: z.string().min(1).optional(),
    suite_ids: idList.optional(),
    flow_ids: idList.optional(),
    resolve_suite_context: z.boolean().default(true),
    suite_overrides: z.record(z.string(), z.string()).optional(),
    env: keyValuesSchema.optional(),
    browser: browserSchema.optional(),
    source: z.enum(CLIENT_RUN_SOURCES).default('api'),
    tags: tagsSchema.optional(),
    max_parallel: z.number().int().min(1).max(100).default(DEFAULT_MAX_PARALLEL),
    data: z.unknown().optional(),
  })
  .superRefine((b, ctx) => {
    if (!b.app_id && !b.bundle_id)
      ctx.addIssue({ code: 'custom', path: ['app_id'], message: 'app_id is required unless bundle_id and platform are given' });
    if (b.bundle_id && !b.platform)
      ctx.addIssue({ code: 'custom', path: ['platform'], message: 'platform (ios or android) is required with bundle_id' });
    if (!b.suite_ids?.length && !b.flow_ids?.length)
      ctx.addIssue({ code: 'custom', path: ['flow_ids'], message: 'at least one of suite_ids or flow_ids is required' });
  });

const runFlowsResponse = z.object({
  batch_id: z.string(),
  status: z.string(),
  source: z.string(),
  created_at: z.string(),
  runs: z.array(z.object({ id: z.string(), flow_id: z.string(), flow_name: z.string(), status: z.string() })),
});

const idempotencyKey = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined;
  if (header.length < 1 || header.length > 255) throw badRequest('Idempotency-Key must be 1 to 255 characters', ['header', 'Idempotency-Key']);
  return header;
};

const seed000View = (b: TriggeredBatch) => ({
  batch_id: b.batchId,
  status: batchStatus(b.runs.map((r) => r.status)),
  source: b.source,
  created_at: b.createdAt.toISOString(),
  runs: b.runs.map((r) => ({ id: r.id, flow_id: r.flowId, flow_name: r.flowName, status: r.status })),
});

export const triggerRoutes = (deps: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/flows/run',
    tag: 'Runs (seed 000)',
    summary: 'Run flows: start one batch of flow runs; poll it with GET /api/v1/runs/status',
    body: runFlowsBody,
    response: runFlowsResponse,
    handler: async ({ body, auth, req }) => {
      const batch = await triggerBatch(deps, auth, {
        suiteIds: body.suite_ids,
        flowIds: body.flow_ids ?? [],
        resolveSuiteContext: body.resolve_suite_context,
        suiteOverrides: body.resolve_suite_context ? body.suite_overrides : undefined,
        flowLoc: (i) => ['body', 'flow_ids', i],
        appId: body.app_id,
        bundle: body.bundle_id && body.platform ? { bundleId: body.bundle_id, platform: body.platform } : undefined,
        buildId: body.app_build_id,
        env: body.env ?? {},
        browser: body.browser ?? null,
        source: body.source,
        tags: body.tags ?? [],
        maxParallel: body.max_parallel,
        data: body.data,
        idempotencyKey: idempotencyKey(req.get('Idempotency-Key')),
        fingerprint: { path: req.path, body: req.body },
      });
      return seed000View(batch);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/flows/:flowId/runs',
    tag: 'Flow runs (seed 004)',
    summary: 'Trigger a manual run of one flow; `data` is readable as trigger.body',
    params: z.object({ flowId: flowIdSchema }),
    body: z.object({ data: z.unknown().optional() }),
    status: 201,
    response: z.object({ id: z.string(), flowId: z.string(), status: z.literal('RUNNING'), startTime: z.string() }),
    handler: async ({ params, body, auth, req }) => {
      const batch = await triggerBatch(deps, auth, {
        flowIds: [params.flowId],
        flowLoc: () => ['path', 'flowId'],
        env: {},
        browser: null,
        source: 'api',
        tags: [],
        maxParallel: 1,
        data: body.data,
        idempotencyKey: idempotencyKey(req.get('Idempotency-Key')),
        fingerprint: { path: req.path, body: req.body },
      });
      const run = batch.runs[0];
      return { id: run.id, flowId: run.flowId, status: 'RUNNING', startTime: run.createdAt.toISOString() };
    },
  }),
];
