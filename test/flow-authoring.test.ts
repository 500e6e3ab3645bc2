/**
 * Authoring flows: an unknown key anywhere in a definition is refused with its path (a typo such
 * as `methd` must not pass as "no method"), and the JSON Schema editors use is served from the
 * same zod schema, closed the same way.
 */
import { withStack } from './harness';

const httpStep = (config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ id: 'get', type: 'http', config, ...extra });

describe('flow authoring', () => {
  const stack = withStack({ account: true });

  test('when a step config has an unknown key (methd), then 400 naming body.steps[0].config.methd and nothing is saved', async () => {
    const res = await stack.call('PUT', '/api/v1/flows/typo', { steps: [httpStep({ methd: 'GET', url: 'https://example.com' })] }, stack.key);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('body.steps[0].config.methd: unknown key');
    expect(res.body.detail).toEqual([{ loc: ['body', 'steps', 0, 'config', 'methd'], msg: 'unknown key', type: 'unrecognized_keys' }]);
    expect((await stack.call('GET', '/api/v1/flows/typo', undefined, stack.key)).status).toBe(404);
  });

  test.each([
    ['the flow', { nme: 'x', steps: [httpStep({ url: 'https://example.com' })] }, ['body', 'nme']],
    ['configs', { configs: { endOnFail: true, timeout: 5 }, steps: [httpStep({ url: 'https://example.com' })] }, ['body', 'configs', 'timeout']],
    ['a notify entry', { notify: [{ url: 'https://example.com/hook', when: ['failed'] }], steps: [httpStep({ url: 'https://example.com' })] }, ['body', 'notify', 0, 'when']],
    ['a step', { steps: [httpStep({ url: 'https://example.com' }, { depends_on: [] })] }, ['body', 'steps', 0, 'depends_on']],
    ['a retry', { steps: [httpStep({ url: 'https://example.com' }, { retry: { attempts: 3 } })] }, ['body', 'steps', 0, 'retry', 'attempts']],
    [
      'a browser action',
      { steps: [{ id: 'b', type: 'browser', config: { url: 'https://example.com', actions: [{ action: 'click', selector: '#a' }, { action: 'fill', selector: '#u', valu: 'x' }] } }] },
      ['body', 'steps', 0, 'config', 'actions', 1, 'valu'],
    ],
    [
      'a screenshot vrt',
      { steps: [{ id: 'b', type: 'browser', config: { url: 'https://example.com', actions: [{ action: 'screenshot', name: 'home', vrt: { treshold: 90 } }] } }] },
      ['body', 'steps', 0, 'config', 'actions', 0, 'vrt', 'treshold'],
    ],
    ['a scan config', { steps: [{ id: 's', type: 'scan', config: { url: 'https://example.com', types: ['html'], fullpage: false } }] }, ['body', 'steps', 0, 'config', 'fullpage']],
    ['an approval config', { steps: [{ id: 'a', type: 'approval', config: { timeout: 1000 } }] }, ['body', 'steps', 0, 'config', 'timeout']],
  ])('when %s has an unknown key, then 400 with its path', async (_where, body, loc) => {
    const res = await stack.call('POST', '/api/v1/flows', body, stack.key);
    expect(res.status).toBe(400);
    expect(res.body.detail).toContainEqual({ loc, msg: 'unknown key', type: 'unrecognized_keys' });
  });

  test('when a suite or a schedule (files flows apply also takes) has an unknown key, then 400 with its path', async () => {
    const suite = await stack.call('POST', '/api/v1/suites', { name: 's', flowIDs: ['x'] }, stack.key);
    expect(suite.status).toBe(400);
    expect(suite.body.detail).toContainEqual({ loc: ['body', 'flowIDs'], msg: 'unknown key', type: 'unrecognized_keys' });
    const schedule = await stack.call('POST', '/api/v1/schedules', { id: 'nightly', spec: { cron: '0 2 * * *' }, trigger: { app_id: 'a', flow_ids: ['x'] }, catchupWindow: 60 }, stack.key);
    expect(schedule.status).toBe(400);
    expect(schedule.body.detail).toContainEqual({ loc: ['body', 'catchupWindow'], msg: 'unknown key', type: 'unrecognized_keys' });
  });

  test('when several keys are unknown, then each is named', async () => {
    const res = await stack.call('POST', '/api/v1/flows', { steps: [httpStep({ url: 'https://example.com', methd: 'GET', hedaers: {} })] }, stack.key);
    expect(res.status).toBe(400);
    expect(res.body.detail.map((d: { loc: unknown[] }) => d.loc)).toEqual([
      ['body', 'steps', 0, 'config', 'methd'],
      ['body', 'steps', 0, 'config', 'hedaers'],
    ]);
  });

  test('when a stored flow is read back and its definition PUT again, then it is accepted (a GET holds only known keys besides version and timestamps)', async () => {
    const created = await stack.call(
      'PUT',
      '/api/v1/flows/round-trip',
      {
        steps: [
          { id: 'b', type: 'browser', config: { url: 'https://example.com', viewport: '1280,800', actions: [{ action: 'screenshot', name: 'home', vrt: {} }] } },
          { id: 'a', type: 'approval', dependsOn: ['b'] },
        ],
      },
      stack.key,
    );
    expect(created.status).toBe(201);
    const { version: _v, createdAt: _c, updatedAt: _u, ...definition } = created.body;
    const again = await stack.call('PUT', '/api/v1/flows/round-trip', definition, stack.key);
    expect(again.status).toBe(200);
    expect(again.body.version).toBe(2);
  });

  test('when the flow JSON Schema is fetched without a key, then it is a closed draft 2020-12 schema of every step type', async () => {
    const res = await stack.call('GET', '/api/v1/schemas/flow.json', undefined, null);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/schema\+json/);
    const schema = typeof res.body === 'string' ? JSON.parse(res.body) : res.body;
    expect(schema).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', additionalProperties: false, required: ['steps'] });
    const steps = schema.properties.steps.items.oneOf as { properties: { type: { const: string }; config: Record<string, unknown> }; additionalProperties: boolean }[];
    expect(steps.map((s) => s.properties.type.const).sort()).toEqual(['approval', 'browser', 'delay', 'flow', 'http', 'scan', 'transform']);
    expect(steps.every((s) => s.additionalProperties === false)).toBe(true);
    const http = steps.find((s) => s.properties.type.const === 'http')!.properties.config as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(http.additionalProperties).toBe(false);
    expect(Object.keys(http.properties)).toEqual(expect.arrayContaining(['method', 'url', 'headers', 'body', 'expectStatus', 'timeoutMs']));
    expect(http.properties.method).toBeDefined();
  });
});
