import type { AddressInfo } from 'node:net';
import express from 'express';
import { defineRoute } from '../apps/gateway/http/route';
import { errorHandler, fallbackHandler, mountRoutes } from '../apps/gateway/http/router';
import { toOpenApiPath } from '../apps/gateway/http/openapi';
import { allRoutes } from '../apps/gateway/routes';
import { withStack } from './harness';
import { gatewayLog } from '../platform/log';

const http = (id: string, config: Record<string, unknown> = { url: 'https://example.com' }, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'http',
  config,
  ...extra,
});

interface BadCase {
  name: string;
  method?: string;
  path?: string;
  /** A string is sent verbatim (malformed JSON). */
  body?: unknown;
  status: number;
  loc?: (string | number)[];
  type?: string;
}

const BAD_INPUTS: BadCase[] = [
  {
    name: 'an unknown step type',
    body: { steps: [http('a'), { id: 'b', type: 'teleport', config: {} }] },
    status: 400,
    loc: ['body', 'steps', 1, 'type'],
    type: 'invalid_union',
  },
  { name: 'duplicate step ids', body: { steps: [http('a'), http('a')] }, status: 400, loc: ['body', 'steps', 1, 'id'] },
  {
    name: 'an unknown dependsOn',
    body: { steps: [http('a'), http('b'), http('c', undefined, { dependsOn: ['a', 'nope'] })] },
    status: 400,
    loc: ['body', 'steps', 2, 'dependsOn', 1],
  },
  {
    name: 'a dependency cycle',
    body: { steps: [http('a', undefined, { dependsOn: ['b'] }), http('b', undefined, { dependsOn: ['a'] })] },
    status: 400,
    loc: ['body', 'steps', 0, 'dependsOn'],
  },
  {
    name: 'an unparsable JSONata `if`',
    body: { steps: [http('a', undefined, { if: 'steps.a.output = (' })] },
    status: 400,
    loc: ['body', 'steps', 0, 'if'],
  },
  {
    name: 'an unparsable transform expression',
    body: { steps: [{ id: 't', type: 'transform', config: { expression: '$count(' } }] },
    status: 400,
    loc: ['body', 'steps', 0, 'config', 'expression'],
  },
  {
    name: 'an unparsable {{ }} template',
    body: { steps: [http('a', { url: 'https://example.com', body: { text: 'hi {{ steps.( }}' } })] },
    status: 400,
    loc: ['body', 'steps', 0, 'config', 'body', 'text'],
  },
  { name: 'an http step without url', body: { steps: [http('a', { method: 'GET' })] }, status: 400, loc: ['body', 'steps', 0, 'config', 'url'] },
  { name: 'a flow id breaking the pattern', body: { id: 'Has Spaces', steps: [http('a')] }, status: 400, loc: ['body', 'id'] },
  { name: 'a flow without steps', body: { steps: [] }, status: 400, loc: ['body', 'steps'] },
  { name: 'a missing body', body: undefined, status: 400, loc: ['body', 'steps'] },
  { name: 'malformed JSON', body: '{"steps": [', status: 400, loc: ['body'], type: 'json_invalid' },
  { name: 'a wrong type in a nested field', path: '/api/v1/apps', body: { name: 'x', platform: 'web', variables: { A: 1 } }, status: 400, loc: ['body', 'variables', 'A'] },
  { name: 'a NUL byte in a path id', method: 'GET', path: '/api/v1/flows/a%00b', status: 400 },
  { name: 'an unknown route', method: 'GET', path: '/api/v1/nothing-here', status: 404 },
  { name: 'a wrong method on a known path', method: 'PATCH', path: '/api/v1/flows', status: 405 },
];

describe('bad input and the HTTP surface', () => {
  const stack = withStack({ account: true });

  test.each(BAD_INPUTS)('when a client sends $name, then $status in the error shape, naming the field when there is one', async (c) => {
    const res = await stack.call(c.method ?? 'POST', c.path ?? '/api/v1/flows', c.body, stack.key);
    expect(res.status).toBe(c.status);
    expect(res.body).toEqual({ error: expect.any(String), detail: expect.any(Array) });
    if (c.loc) {
      expect(res.body.detail[0].loc).toEqual(c.loc);
      expect(res.body.error.startsWith(c.loc[0] as string)).toBe(true);
    }
    if (c.type) expect(res.body.detail[0].type).toBe(c.type);
  });

  test('when the error is a validation error, then the one-line message names the first field', async () => {
    const res = await stack.call('POST', '/api/v1/flows', { steps: [http('a', { url: 42 })] }, stack.key);
    expect(res.body.error).toBe('body.steps[0].config.url: expected string, received number');
  });

  test('when a known path is asked with a wrong method, then 405 lists the allowed methods', async () => {
    const res = await stack.call('PATCH', '/api/v1/flows/some-flow', {}, stack.key);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')?.split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PUT']);
    const options = await stack.call('OPTIONS', '/api/v1/flows/some-flow', undefined, null);
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe(res.headers.get('allow'));
  });

  test('when the body is larger than the limit, then 413', async () => {
    const res = await stack.call('POST', '/api/v1/flows', { name: 'x'.repeat(2 * 1024 * 1024), steps: [] }, stack.key);
    expect(res.status).toBe(413);
    expect(res.body.detail[0].loc).toEqual(['body']);
  });

  test('when the body has an unsupported content type, then 415', async () => {
    const res = await stack.call('POST', '/api/v1/flows', '<flow/>', stack.key, { 'content-type': 'application/xml' });
    expect(res.status).toBe(415);
  });

  test('when JSON is sent as text/plain, then it is still read as JSON', async () => {
    const res = await stack.call('POST', '/api/v1/flows', JSON.stringify({ steps: [http('a')] }), stack.key, { 'content-type': 'text/plain' });
    expect(res.status).toBe(201);
  });

  test('when JSON arrives labelled as a form (curl -d), then it is read as JSON; real form fields are read as fields', async () => {
    const json = await stack.call('POST', '/api/v1/flows', JSON.stringify({ steps: [http('a')] }), stack.key, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(json.status).toBe(201);
    const form = await stack.call('POST', '/api/v1/api-keys', 'name=from-a-form', stack.key, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(201);
    expect(form.body.name).toBe('from-a-form');
  });

  test('when the service is probed, then /healthz and /readyz answer ok without a key', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await stack.call('GET', path, undefined, null);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', checks: { postgres: 'ok', temporal: 'ok' } });
    }
  });

  test('when /openapi.json is fetched, then it is OpenAPI 3.1 with every mounted route and the four key forms', async () => {
    const res = await stack.call('GET', '/openapi.json', undefined, null);
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['AccessKeyHeader', 'ApiKeyHeader', 'AuthorizationHeader', 'BearerAuth']);
    const expected: [string, string][] = [
      ['post', '/api/v1/accounts'],
      ['get', '/api/v1/accounts'],
      ['post', '/api/v1/api-keys'],
      ['get', '/api/v1/api-keys'],
      ['delete', '/api/v1/api-keys/{keyId}'],
      ['post', '/api/v1/apps'],
      ['get', '/api/v1/apps'],
      ['get', '/api/v1/apps/{appId}'],
      ['post', '/api/v1/apps/{appId}/builds'],
      ['get', '/api/v1/apps/{appId}/builds'],
      ['post', '/api/v1/apps/{appId}/builds/{buildId}/activate'],
      ['post', '/api/v1/flows'],
      ['get', '/api/v1/flows'],
      ['get', '/api/v1/flows/{flowId}'],
      ['put', '/api/v1/flows/{flowId}'],
      ['delete', '/api/v1/flows/{flowId}'],
      ['get', '/healthz'],
      ['get', '/readyz'],
      ['get', '/openapi.json'],
      ['get', '/docs'],
    ];
    const mounted = allRoutes({ config: stack.config, dataSource: stack.dataSource, client: stack.client });
    expected.push(...mounted.map((r): [string, string] => [r.method, toOpenApiPath(r.path)]));
    for (const [method, path] of expected) expect([method, path, doc.paths[path]?.[method] !== undefined]).toEqual([method, path, true]);
    for (const [path, ops] of Object.entries<Record<string, { responses: object; parameters?: { name: string; in: string }[] }>>(doc.paths)) {
      expect(path).not.toContain(':');
      for (const op of Object.values(ops)) {
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
        for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))
          expect(op.parameters?.some((p) => p.in === 'path' && p.name === name)).toBe(true);
      }
    }
    const flowBody = doc.paths['/api/v1/flows'].post.requestBody.content['application/json'].schema;
    expect(flowBody.properties.steps.type).toBe('array');
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(JSON.stringify(doc)).not.toContain('#/$defs/');
  });

  test('when a handler fails unexpectedly, then 500 "internal error" and the server goes on serving', async () => {
    const app = express();
    const deps = { config: stack.config, dataSource: stack.dataSource, client: stack.client };
    const routes = [
      defineRoute({ method: 'get', path: '/boom', summary: 'fails', tag: 't', auth: 'none', handler: () => Promise.reject(new Error('kaput')) }),
      defineRoute({ method: 'get', path: '/fine', summary: 'works', tag: 't', auth: 'none', handler: () => ({ ok: true }) }),
    ];
    mountRoutes(app, routes, deps);
    app.use(fallbackHandler(routes));
    app.use(errorHandler());
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const spy = jest.spyOn(gatewayLog, 'error').mockImplementation(() => undefined);
    try {
      const boom = await fetch(`${url}/boom`);
      expect(boom.status).toBe(500);
      expect(await boom.json()).toEqual({ error: 'internal error', detail: [] });
      expect(spy).toHaveBeenCalledWith(expect.objectContaining({ err: expect.objectContaining({ message: 'kaput' }), method: 'GET', url: '/boom' }), 'request failed');
      const fine = await fetch(`${url}/fine`);
      expect(await fine.json()).toEqual({ ok: true });
    } finally {
      spy.mockRestore();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test('when /docs is opened, then Swagger UI is served from the package, offline', async () => {
    const page = await fetch(`${stack.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/openapi.json');
    const bundle = await fetch(`${stack.baseUrl}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toContain('javascript');
    await bundle.arrayBuffer();
  });
});
