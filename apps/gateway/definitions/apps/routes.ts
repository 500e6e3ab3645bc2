/** `/api/v1/apps` and their builds. */
import { z } from 'zod';
import { secretsSchema } from '../../../../domain/flow-definition';
import type { GatewayDeps } from '../../deps';
import { at } from '../../http/errors';
import { pageQuerySchema, pageSchema } from '../../http/paging';
import { defineRoute, type AnyRoute } from '../../http/route';
import { activateBuild, appSchema, buildSchema, createApp, createBuild, getApp, listApps, listBuilds, PLATFORMS } from './use-cases';

const TAG = 'Definitions';
const variablesSchema = z.record(z.string().min(1), z.string());

const appInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    platform: z.enum(PLATFORMS),
    bundleId: z.string().trim().min(1).max(300).optional(),
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    variables: variablesSchema.default({}),
    /** Names of secret variables: their values show as `***`. */
    secrets: secretsSchema.optional(),
  })
  .superRefine((app, ctx) => {
    if (app.platform !== 'web' && !app.bundleId)
      ctx.addIssue({ code: 'custom', path: ['bundleId'], message: `bundleId is required for ${app.platform} apps` });
  });

const appParams = z.object({ appId: z.string() });

export const appRoutes = ({ dataSource }: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    scope: 'admin',
    path: '/api/v1/apps',
    summary: 'Create an app',
    tag: TAG,
    status: 201,
    body: appInputSchema,
    response: appSchema,
    fields: at('body', 'bundleId'),
    handler: ({ body, auth }) => createApp(dataSource, auth.accountId, body),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/apps',
    summary: 'List apps',
    tag: TAG,
    query: pageQuerySchema,
    response: pageSchema(appSchema),
    handler: ({ query, auth }) => listApps(dataSource, auth.accountId, query),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/apps/:appId',
    summary: 'Get an app',
    tag: TAG,
    params: appParams,
    fields: at('path', 'appId'),
    response: appSchema,
    handler: ({ params, auth }) => getApp(dataSource, auth.accountId, params.appId),
  }),
  defineRoute({
    method: 'post',
    scope: 'admin',
    path: '/api/v1/apps/:appId/builds',
    summary: 'Add a build to an app (activated unless activate is false)',
    tag: TAG,
    status: 201,
    params: appParams,
    fields: at('path', 'appId'),
    body: z.object({
      version: z.string().trim().min(1).max(200).optional(),
      variables: variablesSchema.default({}),
      secrets: secretsSchema.optional(),
      activate: z.boolean().default(true),
    }),
    response: buildSchema,
    handler: ({ params, body, auth }) => createBuild(dataSource, auth.accountId, params.appId, body),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/apps/:appId/builds',
    summary: "List an app's builds",
    tag: TAG,
    params: appParams,
    fields: at('path', 'appId'),
    query: pageQuerySchema,
    response: pageSchema(buildSchema),
    handler: ({ params, query, auth }) => listBuilds(dataSource, auth.accountId, params.appId, query),
  }),
  defineRoute({
    method: 'post',
    scope: 'admin',
    path: '/api/v1/apps/:appId/builds/:buildId/activate',
    summary: "Make a build the app's active one",
    tag: TAG,
    params: z.object({ appId: z.string(), buildId: z.string() }),
    fields: at('path', 'appId', 'buildId'),
    response: buildSchema,
    handler: ({ params, auth }) => activateBuild(dataSource, auth.accountId, params.appId, params.buildId),
  }),
];
