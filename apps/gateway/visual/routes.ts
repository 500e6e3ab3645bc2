/** Screenshots and other step files of a run, and the visual baselines of a flow (SPEC §9). */
import { z } from 'zod';
import type { GatewayDeps } from '../deps';
import { at } from '../http/errors';
import { sendRunFile } from '../http/files';
import { defineRoute, type AnyRoute } from '../http/route';
import { artifactFile, baselineImage, baselineListSchema, baselineSchema, listBaselines, promoteSchema, promoteScreenshot } from './use-cases';

const TAG = 'Browser artifacts';
const fileParams = z.object({ runId: z.string().min(1), stepId: z.string().min(1).max(200), file: z.string().min(1).max(250) });

export const visualRoutes = (deps: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/runs/:runId/artifacts/screenshots/:stepId/:file',
    summary: "A file a browser or scan step of the run left: a screenshot (`<name>.png`), a visual diff (`<name>.diff.png`) or the rendered page (`page.html`, sent as a sandboxed download)",
    tag: TAG,
    params: fileParams,
    fields: { ...at('path', 'runId', 'stepId', 'file') },
    handler: async ({ params, auth, res }) => {
      const f = await artifactFile(deps, auth.accountId, params.runId, params.stepId, params.file);
      sendRunFile(res, params.file, f.contentType, f.data);
      return undefined;
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/flows/:flowId/baselines',
    summary: "The flow's visual baselines: one per step, screenshot name, browser and viewport",
    tag: TAG,
    params: z.object({ flowId: z.string().min(1) }),
    response: baselineListSchema,
    fields: { ...at('path', 'flowId') },
    handler: ({ params, auth, baseUrl }) => listBaselines(deps, auth.accountId, params.flowId, baseUrl),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/flows/:flowId/baselines/:stepId/:file',
    summary: 'A baseline image (`<name>.png`, with `browser` and `viewport` in the query)',
    tag: TAG,
    params: z.object({ flowId: z.string().min(1), stepId: z.string().min(1), file: z.string().regex(/\.png$/, 'must end in .png') }),
    query: z.object({ browser: z.string().min(1), viewport: z.string().min(1) }),
    fields: { ...at('path', 'flowId', 'stepId', 'file'), ...at('query', 'browser', 'viewport') },
    handler: async ({ params, query, auth, res }) => {
      const png = await baselineImage(deps, auth.accountId, { flowId: params.flowId, stepId: params.stepId, name: params.file.replace(/\.png$/, ''), ...query });
      res.status(200).type('image/png').end(png);
      return undefined;
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/runs/:runId/screenshots/:name/promote',
    summary: "Make the run's screenshot the baseline its later runs are compared with (`step_id` when several steps took one by that name)",
    tag: TAG,
    params: z.object({ runId: z.string().min(1), name: z.string().min(1).max(100) }),
    body: promoteSchema,
    response: baselineSchema,
    fields: { ...at('path', 'runId', 'name'), ...at('body', 'step_id') },
    handler: ({ params, body, auth, baseUrl }) => promoteScreenshot(deps, auth.accountId, params.runId, params.name, body.step_id, baseUrl),
  }),
];
