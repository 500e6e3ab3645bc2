/**
 * The router's edge: replies checked against their response schemas (as every test's gateway
 * does, NODE_ENV being `test`), and domain errors rendered at the location the route names.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { z } from 'zod';
import type { GatewayDeps } from '../../apps/gateway/deps';
import { defineRoute, type AnyRoute } from '../../apps/gateway/http/route';
import { errorHandler, mountRoutes, type RouterOptions } from '../../apps/gateway/http/router';
import { ConflictError, NotFoundError } from '../../domain/errors';
import { gatewayLog } from '../../platform/log';

/** Serves `routes` on port 0 for one test; no route here authenticates, so no service is needed. */
async function serve(routes: AnyRoute[], options: RouterOptions, run: (url: string) => Promise<void>): Promise<void> {
  const app = express();
  mountRoutes(app, routes, { config: {} } as GatewayDeps, options);
  app.use(errorHandler());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const item = z.object({ id: z.string(), tags: z.array(z.object({ key: z.string() })), note: z.string().nullable() });
const reply = (body: unknown) =>
  defineRoute({ method: 'get', path: '/thing', summary: 's', tag: 't', auth: 'none', response: z.object({ items: z.array(item) }), handler: () => body });

async function getThing(body: unknown, options: RouterOptions): Promise<{ status: number; logged: string }> {
  const spy = jest.spyOn(gatewayLog, 'error').mockImplementation(() => undefined);
  try {
    let status = 0;
    await serve([reply(body)], options, async (url) => {
      const res = await fetch(`${url}/thing`);
      status = res.status;
      await res.arrayBuffer();
    });
    return { status, logged: spy.mock.calls.map((c) => JSON.stringify(c, (_k, v: unknown) => (v instanceof Error ? { message: v.message } : v))).join('\n') };
  } finally {
    spy.mockRestore();
  }
}

describe('strict responses', () => {
  test('when a reply has exactly its schema’s fields, then it is sent', async () => {
    const res = await getThing({ items: [{ id: 'a', tags: [{ key: 'k' }], note: null }] }, { strictResponses: true });
    expect(res.status).toBe(200);
  });

  test('when a reply carries a field its schema lacks, however deep, then the check fails loudly naming it', async () => {
    const res = await getThing({ items: [{ id: 'a', tags: [{ key: 'k', secret: 1 }], note: null }] }, { strictResponses: true });
    expect(res.status).toBe(500);
    expect(res.logged).toContain('items.0.tags.0');
    expect(res.logged).toContain('secret');
  });

  test('when a top-level field is extra, then the check fails too', async () => {
    const res = await getThing({ items: [], total: 3 }, { strictResponses: true });
    expect(res.status).toBe(500);
    expect(res.logged).toContain('total');
  });

  test('when strictness is off, as in production, then the extra field is sent unchecked', async () => {
    const res = await getThing({ items: [], total: 3 }, { strictResponses: false });
    expect(res.status).toBe(200);
  });

  test('when the schema declares an object loose, then its extra fields stay allowed', async () => {
    const loose = defineRoute({
      method: 'get',
      path: '/loose',
      summary: 's',
      tag: 't',
      auth: 'none',
      response: z.object({ data: z.object({ id: z.string() }).loose() }),
      handler: () => ({ data: { id: 'a', anything: true } }),
    });
    await serve([loose], { strictResponses: true }, async (url) => {
      expect((await fetch(`${url}/loose`)).status).toBe(200);
    });
  });
});

describe('domain errors at the edge', () => {
  const failing = (error: Error, fields?: AnyRoute['fields']) =>
    defineRoute({ method: 'post', path: '/fail', summary: 's', tag: 't', auth: 'none', fields, handler: () => Promise.reject(error) });

  async function post(route: AnyRoute): Promise<{ status: number; body: { error: string; detail: { loc: unknown[]; msg: string; type: string }[] } }> {
    let out: { status: number; body: never } | undefined;
    await serve([route], {}, async (url) => {
      const res = await fetch(`${url}/fail`, { method: 'POST' });
      out = { status: res.status, body: (await res.json()) as never };
    });
    return out!;
  }

  test('when a use case names a field the route maps, then loc is where the client sent it', async () => {
    const res = await post(failing(new NotFoundError('flow x', ['flowIds', 2]), { flowIds: ['body', 'flow_ids'] }));
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'flow x not found', detail: [{ loc: ['body', 'flow_ids', 2], msg: 'flow x not found', type: 'not_found' }] });
  });

  test('when the route maps a field with a function, then the function decides the whole loc', async () => {
    const res = await post(failing(new ConflictError('taken', ['flowIds', 0]), { flowIds: () => ['path', 'flowId'] }));
    expect(res.status).toBe(409);
    expect(res.body.detail[0]).toEqual({ loc: ['path', 'flowId'], msg: 'taken', type: 'conflict' });
  });

  test('when the field has no mapping, then loc is the field as the use case gave it', async () => {
    const res = await post(failing(new ConflictError('taken', ['appId'])));
    expect(res.body.detail[0].loc).toEqual(['appId']);
  });
});
