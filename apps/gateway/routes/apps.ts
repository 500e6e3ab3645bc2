/** `/api/v1/apps` and their builds (seed 000 "app", seed 001 "site"). */
import { z } from 'zod';
import type { GatewayDeps } from '../deps';
import { pageQuerySchema, pageSchema } from '../http/paging';
import { defineRoute, type AnyRoute } from '../http/route';
import { activateBuild, createApp, createBuild, getApp, listApps, listBuilds } from '../use-cases/apps';

const variablesSchema = z.record(z.string().min(1), z.string());

export const appInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    platform: z.enum(['web', 'ios', 'android']),
    bundleId: z.string().trim().min(1).max(300).optional(),
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    variables: variablesSchema.default({}),
  })
  .superRefine((app, ctx) => {
    if (app.platform !== 'web' && !app.bundleId)
      ctx.addIssue({ code: 'custom', path: ['bundleId'], message: `bundleId is required for ${app.platform} apps` });
  });

const appSchema = z.object({
  id: z.string(),
  name: z.string(),
  platform: z.enum(['web', 'ios', 'android']),
  bundleId: z.string().nullable(),
  baseUrl: z.string().nullable(),
  variables: z.record(z.string(), z.string()),
  activeBuildId: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const buildSchema = z.object({
  id: z.string(),
  appId: z.string(),
  version: z.string().nullable(),
  variables: z.record(z.string(), z.string()),
  active: z.boolean(),
  createdAt: z.string(),
});

const appParams = z.object({ appId: z.string() });

export const appRoutes = ({ dataSource }: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/apps',
    summary: 'Create an app',
    tag: 'apps',
    status: 201,
    body: appInputSchema,
    response: appSchema,
    handler: ({ body, auth }) => createApp(dataSource, auth.accountId, body),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/apps',
    summary: 'List apps',
    tag: 'apps',
    query: pageQuerySchema,
    response: pageSchema(appSchema),
    handler: ({ query, auth }) => listApps(dataSource, auth.accountId, query),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/apps/:appId',
    summary: 'Get an app',
    tag: 'apps',
    params: appParams,
    response: appSchema,
    handler: ({ params, auth }) => getApp(dataSource, auth.accountId, params.appId),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/apps/:appId/builds',
    summary: 'Add a build to an app (activated unless activate is false)',
    tag: 'apps',
    status: 201,
    params: appParams,
    body: z.object({
      version: z.string().trim().min(1).max(200).optional(),
      variables: variablesSchema.default({}),
      activate: z.boolean().default(true),
    }),
    response: buildSchema,
    handler: ({ params, body, auth }) => createBuild(dataSource, auth.accountId, params.appId, body),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/apps/:appId/builds',
    summary: "List an app's builds",
    tag: 'apps',
    params: appParams,
    query: pageQuerySchema,
    response: pageSchema(buildSchema),
    handler: ({ params, query, auth }) => listBuilds(dataSource, auth.accountId, params.appId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/apps/:appId/builds/:buildId/activate',
    summary: "Make a build the app's active one",
    tag: 'apps',
    params: z.object({ appId: z.string(), buildId: z.string() }),
    response: buildSchema,
    handler: ({ params, auth }) => activateBuild(dataSource, auth.accountId, params.appId, params.buildId),
  }),
];
