/** `/api/v1/settings`: the account's settings (admin scope). */
import type { GatewayDeps } from '../../deps';
import { at } from '../../http/errors';
import { defineRoute, type AnyRoute } from '../../http/route';
import { getSettings, putSettings, settingsInputSchema, settingsSchema } from './use-cases';

const TAG = 'Settings';

export const settingsRoutes = ({ dataSource }: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/settings',
    summary: "The account's settings: `retentionDays`, how long finished runs (steps, logs, requests, screenshots) are kept",
    tag: TAG,
    scope: 'admin',
    response: settingsSchema,
    handler: ({ auth }) => getSettings(dataSource, auth.accountId),
  }),
  defineRoute({
    method: 'put',
    path: '/api/v1/settings',
    summary: "Change the account's settings; a shorter retention takes effect at the next daily sweep",
    tag: TAG,
    scope: 'admin',
    body: settingsInputSchema,
    response: settingsSchema,
    fields: at('body', 'retentionDays'),
    handler: ({ auth, body }) => putSettings(dataSource, auth.accountId, body),
  }),
];
