/**
 * Suites, build pinning and browsers as the CI-batch contract describes them: a suite's auth flow runs first
 * inside each of its flows' runs, its outputs and the suite's variables reach the flow's steps.
 */
import { withStack } from './harness';

const stack = withStack({
  workers: true,
  stub: (req) => (req.url === '/login' ? { body: { token: `tok-${(req.body as { user?: string })?.user}` } } : { body: { ok: true } }),
  app: 'web',
});

beforeEach(() => {
  stack.stub.requests.length = 0;
});

let n = 0;
const uid = (p: string) => `${p}-${Date.now().toString(36)}-${n++}`;

async function flow(def: Record<string, unknown>): Promise<string> {
  const id = uid('f');
  const res = await stack.call('POST', '/api/v1/flows', { id, name: id, variables: { U: stack.stub.url }, ...def }, stack.key);
  expect(res.status).toBe(201);
  return id;
}

const loginFlow = () =>
  flow({ steps: [{ id: 'login', type: 'http', config: { method: 'POST', url: '${env:U}/login', body: { user: '${env:USER}' } } }] });
const callFlow = (path: string) =>
  flow({
    steps: [
      {
        id: 'call',
        type: 'http',
        config: { url: `\${env:U}${path}?region=\${env:REGION}`, headers: { authorization: 'Bearer {{auth.login.output.body.token}}' } },
      },
    ],
  });

async function runToEnd(body: Record<string, unknown>) {
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, ...body }, stack.key);
  if (t.status !== 200) return { trigger: t, status: null, runs: [] as any[] };
  let status: any;
  for (let i = 0; i < 300; i++) {
    status = (await stack.call('GET', `/api/v1/runs/status?batch_id=${t.body.batch_id}`, undefined, stack.key)).body;
    if (status.is_complete) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const runs = await Promise.all(status.runs.map(async (r: any) => (await stack.call('GET', `/api/v1/runs/${r.id}`, undefined, stack.key)).body));
  return { trigger: t, status, runs };
}

describe('suites', () => {
  it('when a suite is created, read, listed, replaced and deleted, then each answer shows it', async () => {
    const a = await flow({ steps: [{ id: 's', type: 'transform', config: { expression: '1' } }] });
    const created = await stack.call('POST', '/api/v1/suites', { name: 'Checkout', flowIds: [a], variables: { K: 'v' } }, stack.key);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Checkout', flowIds: [a], authFlowId: null, variables: { K: 'v' } });
    const id = created.body.id;
    expect((await stack.call('GET', `/api/v1/suites/${id}`, undefined, stack.key)).body.id).toBe(id);
    expect((await stack.call('GET', '/api/v1/suites', undefined, stack.key)).body.data.map((s: any) => s.id)).toContain(id);
    const replaced = await stack.call('PUT', `/api/v1/suites/${id}`, { name: 'Checkout 2', flowIds: [] }, stack.key);
    expect(replaced.body).toMatchObject({ name: 'Checkout 2', flowIds: [] });
    expect((await stack.call('DELETE', `/api/v1/suites/${id}`, undefined, stack.key)).status).toBe(204);
    expect((await stack.call('GET', `/api/v1/suites/${id}`, undefined, stack.key)).status).toBe(404);
  });

  it('when a suite names an unknown flow or its auth flow is also a member, then 4xx naming the field', async () => {
    const a = await flow({ steps: [{ id: 's', type: 'transform', config: { expression: '1' } }] });
    const unknown = await stack.call('POST', '/api/v1/suites', { name: 'x', flowIds: [a, 'nope'] }, stack.key);
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail[0].loc).toEqual(['body', 'flowIds', 1]);
    const member = await stack.call('POST', '/api/v1/suites', { name: 'x', flowIds: [a], authFlowId: a }, stack.key);
    expect(member.status).toBe(400);
    expect(member.body.detail[0].loc).toEqual(['body', 'authFlowId']);
    const other = await stack.newAccount();
    const suite = await stack.call('POST', '/api/v1/suites', { name: 'mine', flowIds: [a] }, stack.key);
    expect((await stack.call('GET', `/api/v1/suites/${suite.body.id}`, undefined, other.apiKey)).status).toBe(404);
  });

  it('when suite_ids is triggered, then every flow runs with the auth flow first, its outputs and the suite variables', async () => {
    const login = await loginFlow();
    const [one, two] = [await callFlow('/one'), await callFlow('/two')];
    const suite = await stack.call('POST', '/api/v1/suites', { name: 's', flowIds: [one, two], authFlowId: login, variables: { USER: 'ann', REGION: 'eu' } }, stack.key);
    const { status, runs } = await runToEnd({ suite_ids: [suite.body.id] });
    expect(status.status).toBe('succeeded');
    expect(status.runs.map((r: any) => r.flow_id)).toEqual([one, two]);
    for (const run of runs) {
      expect(run.actions.map((a: any) => a.step_id)).toEqual(['auth.login', 'call']);
      expect(run.actions[0].output.body).toEqual({ token: 'tok-ann' });
    }
    const calls = stack.stub.requests.filter((r) => r.url !== '/login');
    expect(calls.map((r) => r.url).sort()).toEqual(['/one?region=eu', '/two?region=eu']);
    expect(calls.every((r) => r.headers.authorization === 'Bearer tok-ann')).toBe(true);
    expect(stack.stub.requests.filter((r) => r.url === '/login')).toHaveLength(2);
  });

  it('when a flow of one suite is triggered by id, then its suite context applies unless resolve_suite_context is false', async () => {
    const login = await loginFlow();
    const one = await callFlow('/solo');
    await stack.call('POST', '/api/v1/suites', { name: 's', flowIds: [one], authFlowId: login, variables: { USER: 'bo', REGION: 'us' } }, stack.key);
    const withSuite = await runToEnd({ flow_ids: [one] });
    expect(withSuite.runs[0].actions.map((a: any) => a.step_id)).toEqual(['auth.login', 'call']);
    expect(stack.stub.requests.map((r) => r.url)).toEqual(['/login', '/solo?region=us']);

    stack.stub.requests.length = 0;
    const without = await runToEnd({ flow_ids: [one], resolve_suite_context: false, env: 'REGION=none' });
    expect(without.runs[0].actions.map((a: any) => a.step_id)).toEqual(['call']);
    expect(stack.stub.requests.map((r) => r.url)).toEqual(['/solo?region=none']);
    expect(stack.stub.requests[0].headers.authorization).toMatch(/^Bearer\s*$/);
  });

  it('when a flow is in several suites, then suite_overrides chooses one and its absence answers 400 naming the flow', async () => {
    const one = await callFlow('/multi');
    const a = await stack.call('POST', '/api/v1/suites', { name: 'a', flowIds: [one], variables: { REGION: 'a' } }, stack.key);
    const b = await stack.call('POST', '/api/v1/suites', { name: 'b', flowIds: [one], variables: { REGION: 'b' } }, stack.key);
    const ambiguous = await runToEnd({ flow_ids: [one] });
    expect(ambiguous.trigger.status).toBe(400);
    expect(ambiguous.trigger.body.detail[0].loc).toEqual(['body', 'flow_ids', 0]);
    expect(ambiguous.trigger.body.error).toContain(one);
    const chosen = await runToEnd({ flow_ids: [one], suite_overrides: { [one]: b.body.id } });
    expect(chosen.status.status).toBe('succeeded');
    expect(stack.stub.requests.map((r) => r.url)).toEqual(['/multi?region=b']);
    const wrong = await runToEnd({ flow_ids: [one], suite_overrides: { [one]: 'not-a-suite' } });
    expect(wrong.trigger.status).toBe(400);
    expect(wrong.trigger.body.detail[0].loc).toEqual(['body', 'suite_overrides', one]);
    expect(a.status).toBe(201);
  });
});

describe('builds and browsers on CI-batch triggers', () => {
  it('when app_build_id pins a build, then its variables are used and env is attached to it (CI-batch contract); another app\'s build is 404', async () => {
    const pinned = await stack.call('POST', `/api/v1/apps/${stack.appId}/builds`, { version: 'rc1', variables: { REGION: 'pinned' }, activate: false }, stack.key);
    await stack.call('POST', `/api/v1/apps/${stack.appId}/builds`, { version: 'live', variables: { REGION: 'active' } }, stack.key);
    const f = await flow({ steps: [{ id: 'call', type: 'http', config: { url: '${env:U}/b?region=${env:REGION}&extra=${env:EXTRA}' } }] });
    const variablesOf = async (version: string) =>
      (await stack.call('GET', `/api/v1/apps/${stack.appId}/builds`, undefined, stack.key)).body.data.find((b: any) => b.version === version).variables;

    const res = await runToEnd({ flow_ids: [f], app_build_id: pinned.body.id, env: { EXTRA: 'x1' } });
    expect(res.status.status).toBe('succeeded');
    expect(stack.stub.requests.map((r) => r.url)).toEqual(['/b?region=pinned&extra=x1']);
    expect(await variablesOf('rc1')).toEqual({ REGION: 'pinned', EXTRA: 'x1' });
    expect(await variablesOf('live')).toEqual({ REGION: 'active' });

    const other = await stack.call('POST', '/api/v1/apps', { name: 'other', platform: 'web' }, stack.key);
    const otherBuild = await stack.call('POST', `/api/v1/apps/${other.body.id}/builds`, { version: '1' }, stack.key);
    const wrong = await runToEnd({ flow_ids: [f], app_build_id: otherBuild.body.id });
    expect(wrong.trigger.status).toBe(404);
    expect(wrong.trigger.body.detail[0].loc).toEqual(['body', 'app_build_id']);
  });

  it('when no build is pinned, then env is attached to the active build and later triggers read it; save_env: false keeps it to that batch', async () => {
    const f = await flow({ steps: [{ id: 'call', type: 'http', config: { url: '${env:U}/c?region=${env:REGION}&extra=${env:EXTRA}' } }] });
    const live = async () => (await stack.call('GET', `/api/v1/apps/${stack.appId}/builds`, undefined, stack.key)).body.data.find((b: any) => b.version === 'live').variables;
    stack.stub.requests.length = 0;
    expect((await runToEnd({ flow_ids: [f], env: 'EXTRA=x2' })).status.status).toBe('succeeded');
    expect(await live()).toEqual({ REGION: 'active', EXTRA: 'x2' });
    expect((await runToEnd({ flow_ids: [f] })).status.status).toBe('succeeded');

    expect((await runToEnd({ flow_ids: [f], env: { EXTRA: 'x3', REGION: 'once' }, save_env: false })).status.status).toBe('succeeded');
    expect(await live()).toEqual({ REGION: 'active', EXTRA: 'x2' });
    expect((await runToEnd({ flow_ids: [f] })).status.status).toBe('succeeded');
    expect(stack.stub.requests.map((r) => r.url)).toEqual(['/c?region=active&extra=x2', '/c?region=active&extra=x2', '/c?region=once&extra=x3', '/c?region=active&extra=x2']);
  });

  it('when bundle_id and platform name a mobile app, then it is resolved; an unknown one is 404', async () => {
    const mobile = await stack.call('POST', '/api/v1/apps', { name: 'ios', platform: 'ios', bundleId: `com.example.${uid('b')}` }, stack.key);
    const f = await flow({ steps: [{ id: 's', type: 'transform', config: { expression: '"ok"' } }] });
    const res = await runToEnd({ app_id: undefined, bundle_id: mobile.body.bundleId, platform: 'ios', flow_ids: [f], browser: 'firefox' });
    expect(res.status.status).toBe('succeeded');
    expect(res.runs[0]).toMatchObject({ app_id: mobile.body.id, platform: 'ios', browser: null });
    const missing = await runToEnd({ app_id: undefined, bundle_id: 'com.nope', platform: 'android', flow_ids: [f] });
    expect(missing.trigger.status).toBe(404);
    expect(missing.trigger.body.detail[0].loc).toEqual(['body', 'bundle_id']);
  });

  it('when browser is an alias, then the canonical name is recorded; an unknown browser is 400', async () => {
    const f = await flow({ steps: [{ id: 's', type: 'transform', config: { expression: '1' } }] });
    const chrome = await runToEnd({ flow_ids: [f], browser: 'Google Chrome' });
    expect(chrome.runs[0].browser).toBe('chrome');
    const edge = await runToEnd({ flow_ids: [f], browser: 'msedge' });
    expect(edge.runs[0].browser).toBe('edge');
    const bad = await runToEnd({ flow_ids: [f], browser: 'netscape' });
    expect(bad.trigger.status).toBe(400);
    expect(bad.trigger.body.detail[0].loc).toEqual(['body', 'browser']);
  });
});
