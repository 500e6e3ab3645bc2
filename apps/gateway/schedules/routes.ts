/** `/api/v1/schedules`: flows and suites fired on Temporal Schedules, per account. */
import { z } from 'zod';
import type { GatewayDeps } from '../deps';
import type { FieldLocations } from '../http/errors';
import { at } from '../http/errors';
import { pageQuerySchema } from '../http/paging';
import { defineRoute, reply, type AnyRoute } from '../http/route';
import { TRIGGER_FIELDS } from '../surfaces/ci-batches/routes';
import {
  backfillSchedule,
  createSchedule,
  deleteSchedule,
  getSchedule,
  listSchedules,
  OVERLAPS,
  pauseSchedule,
  putSchedule,
  scheduleInputSchema,
  schedulePageSchema,
  scheduleSchema,
  triggerSchedule,
} from './use-cases';

const TAG = 'Schedules';
const params = z.object({ id: z.string().min(1).max(100) });
/** The trigger's fields are under `trigger` in a schedule's body. */
const FIELDS: FieldLocations = {
  ...Object.fromEntries(Object.entries(TRIGGER_FIELDS).map(([name, loc]) => [name, Array.isArray(loc) ? ['body', 'trigger', ...loc.slice(1)] : loc])),
  ...at('path', 'id'),
};

export const scheduleRoutes = (deps: GatewayDeps): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/schedules',
    summary: 'Create a schedule: a Temporal Schedule that fires the trigger (the body of POST /api/v1/flows/run) on a cron spec or an interval',
    tag: TAG,
    status: 201,
    body: scheduleInputSchema,
    response: scheduleSchema,
    fields: { ...FIELDS, id: ['body', 'id'] },
    handler: ({ body, auth }) => createSchedule(deps, auth, body),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/schedules',
    summary: "The account's schedules by id, with their next fire times and recent firings read from Temporal",
    tag: TAG,
    query: pageQuerySchema,
    response: schedulePageSchema,
    handler: ({ query, auth }) => listSchedules(deps, auth, { cursor: query.cursor, limit: query.limit }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/schedules/:id',
    summary: 'A schedule, as Temporal has it now (paused, note, next fire times, recent firings)',
    tag: TAG,
    params,
    response: scheduleSchema,
    fields: FIELDS,
    handler: ({ params, auth }) => getSchedule(deps, auth, params.id),
  }),
  defineRoute({
    method: 'put',
    path: '/api/v1/schedules/:id',
    summary: 'Replace a schedule (created when it does not exist)',
    tag: TAG,
    params,
    body: scheduleInputSchema,
    response: scheduleSchema,
    fields: FIELDS,
    handler: async ({ params, body, auth }) => {
      const { schedule, created } = await putSchedule(deps, auth, params.id, body);
      return reply(created ? 201 : 200, schedule);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/schedules/:id',
    summary: 'Delete a schedule (its batches stay)',
    tag: TAG,
    params,
    response: z.object({}),
    fields: FIELDS,
    handler: async ({ params, auth }) => {
      await deleteSchedule(deps, auth, params.id);
      return {};
    },
  }),
  ...(['pause', 'unpause'] as const).map((verb) =>
    defineRoute({
      method: 'post',
      path: `/api/v1/schedules/:id/${verb}`,
      summary: `${verb === 'pause' ? 'Pause' : 'Unpause'} a schedule, with an optional note`,
      tag: TAG,
      params,
      body: z.object({ note: z.string().max(1000).optional() }),
      response: scheduleSchema,
      fields: FIELDS,
      handler: ({ params, body, auth }) => pauseSchedule(deps, auth, params.id, verb === 'pause', body.note),
    }),
  ),
  defineRoute({
    method: 'post',
    path: '/api/v1/schedules/:id/trigger',
    summary: 'Fire the schedule now, whatever its overlap policy; answers the batch it starts',
    tag: TAG,
    params,
    status: 202,
    response: z.object({ batchId: z.string() }),
    fields: FIELDS,
    handler: ({ params, auth }) => triggerSchedule(deps, auth, params.id),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/schedules/:id/backfill',
    summary: 'Fire the schedule for every time its spec matches between start and end (overlap: the schedule\'s unless given)',
    tag: TAG,
    params,
    body: z.object({ start: z.iso.datetime({ offset: true }), end: z.iso.datetime({ offset: true }), overlap: z.enum(OVERLAPS).optional() }),
    status: 202,
    response: z.object({ id: z.string(), start: z.string(), end: z.string(), overlap: z.string() }),
    fields: FIELDS,
    handler: ({ params, body, auth }) => backfillSchedule(deps, auth, params.id, body),
  }),
];
