/**
 * Seed 001 FlowRun objects: the seed's own Python `requests` calls, translated to fetch and
 * replayed against the real gateway, worker, Temporal and Postgres, with a stub server for the
 * http nodes. Shapes are checked against the seed's example object.
 */
import { startStack, type Stack } from './harness';
import { startStub, type Stub } from './stub-server';

let stack: Stack;
let stub: Stub;

beforeAll(async () => {
  stack = await startStack({ worker: true });
  stub = await startStub();
});
afterAll(async () => {
  await stub?.close();
  await stack?.stop();
});
beforeEach(() => {
  stub.requests.length = 0;
  stub.setHandler(() => ({ status: 200, body: { ok: true } }));
});

/**
 * The seed's example FlowRun, its scan-specific node configs cut down to the one the platform
 * shares, and `request_type` null: only an http node has a method here.
 */
const SEED_EXAMPLE = {
  id: 'c97021d2-dfd7-43ee-b9f5-136f49f3062d',
  user: 'dev@example.com',
  account: '8d4075a8-5ba0-48c9-9735-b989595edad5',
  flow: 'cc5a0ede-1aff-4eff-8040-9f4c0783f043',
  time_created: '2024-11-15T18:01:32.835728Z',
  title: 'Dual Step Flow',
  nodes: [
    {
      id: '1',
      data: {
        id: '1',
        uri: '',
        type: ['html', 'logs', 'lighthouse', 'yellowlab', 'vrt'],
        email: '',
        status: 'queued',
        case_id: null,
        configs: { end_on_fail: true },
        headers: '{}',
        message: '',
        objects: [],
        payload: '{}',
        subject: '',
        updates: null,
        maxConds: 4,
        maxNodes: 12,
        parentId: null,
        position: { x: 0, y: 0 },
        start_if: null,
        finalized: false,
        task_type: 'scan',
        threshold: 95,
        conditions: null,
        phone_number: '',
        request_type: null,
        time_started: null,
        time_completed: null,
      },
      type: 'basic',
      measured: { width: 272, height: 48 },
      parentId: null,
      position: { x: 0, y: 0 },
    },
  ],
  edges: [{ id: '1', type: 'smoothstep', style: null, source: '1', target: '2', animated: false }],
  status: 'working',
  time_completed: null,
  logs: [{ timestamp: '2024-11-15 18:01:32.833712', message: 'system starting up for run_id: c97021d2', step: '1' }],
  site: 'f4f6e6c1-037f-45e4-8cf4-2979f12d2cf0',
  configs: { end_on_fail: true },
};

/**
 * Every key of the seed's example is present with the same JSON type; a `null` in the example
 * admits any value (the seed shows a run not started yet), as does an empty array on either side.
 */
function expectSeedShape(actual: unknown, example: unknown, at = '$'): void {
  if (example === null) return;
  if (Array.isArray(example)) {
    expect([at, Array.isArray(actual)]).toEqual([at, true]);
    const items = actual as unknown[];
    if (example.length > 0) for (const item of items) expectSeedShape(item, example[0], `${at}[]`);
    return;
  }
  if (typeof example === 'object') {
    expect([at, typeof actual, actual === null]).toEqual([at, 'object', false]);
    for (const [k, v] of Object.entries(example as Record<string, unknown>)) {
      expect([`${at}.${k}`, k in (actual as object)]).toEqual([`${at}.${k}`, true]);
      expectSeedShape((actual as Record<string, unknown>)[k], v, `${at}.${k}`);
    }
    return;
  }
  expect([at, typeof actual]).toEqual([at, typeof example]);
}

interface Tenant {
  token: string;
  accountId: string;
  siteId: string;
  other: { token: string; siteId: string };
}

/** `requests.<method>(url, headers={"content-type": ..., "Authorization": TOKEN}, data=json.dumps(data))`. */
async function seedRequest(method: string, url: string, token: string | null, data?: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.Authorization = token;
  const res = await fetch(url, { method, headers, body: data === undefined ? undefined : JSON.stringify(data) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const api = () => `${stack.baseUrl}/v1/ops`;

let seq = 0;
async function tenant(): Promise<Tenant> {
  const account = await stack.newAccount();
  const key = await stack.call('POST', '/api/v1/api-keys', { name: 'dev@example.com' }, account.apiKey);
  expect(key.status).toBe(201);
  const site = await stack.call('POST', '/api/v1/apps', { name: 'site', platform: 'web', baseUrl: stub.url }, key.body.apiKey);
  expect(site.status).toBe(201);
  const stranger = await stack.newAccount();
  const strangerSite = await stack.call('POST', '/api/v1/apps', { name: 'theirs', platform: 'web' }, stranger.apiKey);
  return { token: key.body.apiKey, accountId: account.accountId, siteId: site.body.id, other: { token: stranger.apiKey, siteId: strangerSite.body.id } };
}

async function createFlow(t: Tenant, def: Record<string, unknown>): Promise<string> {
  const id = `flow-${Date.now().toString(36)}-${seq++}`;
  const res = await stack.call('POST', '/api/v1/flows', { id, name: id, variables: { U: stub.url }, ...def }, t.token);
  if (res.status !== 201) throw new Error(`create flow: ${res.status} ${JSON.stringify(res.body)}`);
  return id;
}

async function startFlowRun(t: Tenant, flowId: string, configs?: Record<string, unknown>, siteId = t.siteId) {
  const res = await seedRequest('POST', `${api()}/flowrun`, t.token, { site_id: siteId, flow_id: flowId, ...(configs ? { configs } : {}) });
  if (res.status !== 201) throw new Error(`create flowrun: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function waitFor(t: Tenant, id: string, ok: (run: any) => boolean, timeoutMs = 45_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await seedRequest('GET', `${api()}/flowrun/${id}`, t.token);
    expect(res.status).toBe(200);
    if (ok(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`flowrun ${id} never got there: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const isFinal = (run: any) => ['passed', 'failed', 'cancelled'].includes(run.status);
const nodeById = (run: any) => Object.fromEntries(run.nodes.map((n: any) => [n.id, n]));

describe('POST and GET /v1/ops/flowrun (seed 001 Create / Retrieve a FlowRun)', () => {
  test('when the seed example creates a FlowRun of a two-step flow, then 201 and the object has the seed shape, node 2 under node 1 and one edge', async () => {
    const t = await tenant();
    const flowId = await createFlow(t, {
      name: 'Dual Step Flow',
      steps: [
        { id: '1', type: 'http', config: { method: 'GET', url: '${env:U}/scan' } },
        { id: '2', type: 'transform', config: { expression: 'steps.`1`.output.status' } },
      ],
    });

    const res = await seedRequest('POST', `${api()}/flowrun`, t.token, { site_id: t.siteId, flow_id: flowId, configs: { end_on_fail: true } });

    expect(res.status).toBe(201);
    const run = res.body;
    expectSeedShape(run, SEED_EXAMPLE);
    expect(Object.keys(run).sort()).toEqual(Object.keys(SEED_EXAMPLE).sort());
    expect(run).toMatchObject({
      user: 'dev@example.com',
      account: t.accountId,
      flow: flowId,
      title: 'Dual Step Flow',
      site: t.siteId,
      configs: { end_on_fail: true },
    });
    expect(['queued', 'working']).toContain(run.status);
    expect(run.time_created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
    expect(run.nodes.map((n: any) => [n.id, n.parentId, n.position, n.data.parentId, n.data.position])).toEqual([
      ['1', null, { x: 0, y: 0 }, null, { x: 0, y: 0 }],
      ['2', '1', { x: 0, y: 150 }, '1', { x: 0, y: 150 }],
    ]);
    expect(run.edges).toEqual([{ id: '1', type: 'smoothstep', style: null, source: '1', target: '2', animated: false }]);
    expect(run.nodes[0]).toMatchObject({ type: 'basic', measured: { width: 272, height: 48 } });
    expect(run.nodes[0].data).toMatchObject({
      id: '1',
      task_type: 'http',
      request_type: 'GET',
      uri: '${env:U}/scan',
      configs: { method: 'GET', url: '${env:U}/scan', end_on_fail: true },
    });
    expect(run.nodes[1].data).toMatchObject({ id: '2', task_type: 'transform', request_type: null, uri: '' });

    const done = await waitFor(t, run.id, isFinal);

    expectSeedShape(done, SEED_EXAMPLE);
    expect(done.status).toBe('passed');
    expect(done.time_completed).toMatch(/Z$/);
    expect(done.nodes.map((n: any) => [n.data.status, n.data.finalized, n.data.message])).toEqual([
      ['passed', true, ''],
      ['passed', true, ''],
    ]);
    expect(done.nodes[0].data.time_started).toEqual(expect.any(String));
    expect(done.nodes[1].data.output).toBe(200);
    expect(stub.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /scan']);
    expect(done.logs.length).toBeGreaterThan(0);
    for (const log of done.logs) expect(log.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    const times = done.logs.map((l: any) => l.timestamp);
    expect([...times].sort()).toEqual(times);
    expect(done.logs.find((l: any) => l.message === 'run started')).toMatchObject({ step: '1' });
    expect(done.logs.some((l: any) => l.step === '2')).toBe(true);
  });

  test('when the seed example retrieves a FlowRun, then it is the object POST answered, read through the seed 000 run detail', async () => {
    const t = await tenant();
    const flowId = await createFlow(t, { steps: [{ id: 'only', type: 'transform', config: { expression: '1' } }] });
    const created = await startFlowRun(t, flowId);

    const done = await waitFor(t, created.id, isFinal);
    const seed000 = await stack.call('GET', `/api/v1/runs/${created.id}`, undefined, t.token);

    expect(done).toMatchObject({ id: created.id, flow: flowId, site: t.siteId, time_created: created.time_created, status: 'passed' });
    expect(seed000.body).toMatchObject({ id: created.id, status: 'succeeded', app_id: t.siteId });
    expect(done.time_completed).toBe(seed000.body.finished_at);
  });

  test('when a delay node runs, then the FlowRun and that node are "working", and "passed" at the end', async () => {
    const t = await tenant();
    const flowId = await createFlow(t, {
      steps: [
        { id: 'wait', type: 'delay', config: { durationMs: 1500 } },
        { id: 'after', type: 'transform', config: { expression: '1' } },
      ],
    });
    const created = await startFlowRun(t, flowId);

    const working = await waitFor(t, created.id, (r) => nodeById(r).wait.data.status === 'working', 10_000);
    const done = await waitFor(t, created.id, isFinal);

    expect(working.status).toBe('working');
    expect(nodeById(working).after.data.status).toBe('queued');
    expect(done.status).toBe('passed');
    expect(done.nodes.map((n: any) => n.data.status)).toEqual(['passed', 'passed']);
  });

  test('when end_on_fail is false, then an independent branch goes on after a failure and the FlowRun fails', async () => {
    stub.setHandler((req) => (req.url === '/missing' ? { status: 404, body: 'no' } : { body: { ok: true } }));
    const t = await tenant();
    const flowId = await createFlow(t, {
      configs: { endOnFail: true },
      steps: [
        { id: 'bad', type: 'http', dependsOn: [], config: { url: '${env:U}/missing' } },
        { id: 'after-bad', type: 'transform', dependsOn: ['bad'], config: { expression: '1' } },
        { id: 'good', type: 'delay', dependsOn: [], config: { durationMs: 300 } },
        { id: 'after-good', type: 'http', dependsOn: ['good'], config: { method: 'post', url: '${env:U}/fine', body: { a: 1 } } },
      ],
    });

    const created = await startFlowRun(t, flowId, { end_on_fail: false });
    const done = await waitFor(t, created.id, isFinal);

    expect(created.configs).toEqual({ end_on_fail: false });
    expect(done.status).toBe('failed');
    const nodes = nodeById(done);
    expect(Object.fromEntries(Object.entries(nodes).map(([id, n]: [string, any]) => [id, n.data.status]))).toEqual({
      bad: 'failed',
      'after-bad': 'skipped',
      good: 'passed',
      'after-good': 'passed',
    });
    expect(nodes.bad.data.message).toMatch(/404/);
    expect(nodes['after-good'].data).toMatchObject({ request_type: 'POST', payload: '{"a":1}', configs: { end_on_fail: false } });
    expect(done.nodes.map((n: any) => [n.id, n.parentId, n.position])).toEqual([
      ['bad', null, { x: 0, y: 0 }],
      ['after-bad', 'bad', { x: 0, y: 150 }],
      ['good', null, { x: 300, y: 0 }],
      ['after-good', 'good', { x: 300, y: 150 }],
    ]);
    expect(done.edges.map((e: any) => `${e.source}->${e.target}`)).toEqual(['bad->after-bad', 'good->after-good']);
    expect(stub.requests.map((r) => r.url).sort()).toEqual(['/fine', '/missing']);
  });

  test('when an operator terminates the workflow in Temporal, then the FlowRun and its running node read cancelled', async () => {
    const t = await tenant();
    const flowId = await createFlow(t, {
      steps: [
        { id: 'sleep', type: 'delay', config: { durationMs: 60_000 } },
        { id: 'never', type: 'transform', config: { expression: '1' } },
      ],
    });
    const created = await startFlowRun(t, flowId);
    await waitFor(t, created.id, (r) => nodeById(r).sleep.data.status === 'working', 10_000);

    await stack.client.workflow.getHandle(`run-${created.id}`).terminate('operator in the Temporal UI');
    const done = await waitFor(t, created.id, isFinal, 10_000);

    expect(done.status).toBe('cancelled');
    expect(done.time_completed).toEqual(expect.any(String));
    expect(done.nodes.map((n: any) => [n.id, n.data.status])).toEqual([
      ['sleep', 'cancelled'],
      ['never', 'cancelled'],
    ]);
  });

  test('when the same Idempotency-Key is sent twice, then one FlowRun is created', async () => {
    const t = await tenant();
    const flowId = await createFlow(t, { steps: [{ id: 'only', type: 'transform', config: { expression: '1' } }] });
    const body = { site_id: t.siteId, flow_id: flowId };
    const send = () =>
      fetch(`${api()}/flowrun`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', Authorization: t.token, 'Idempotency-Key': `k-${flowId}` },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

    const first = await send();
    const second = await send();
    const list = await seedRequest('GET', `${api()}/flowrun?limit=10&offset=0`, t.token);

    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.id).toBe(first.body.id);
    expect(list.body.count).toBe(1);
  });
});

describe('GET /v1/ops/flowrun (seed 001 Retrieve many FlowRuns)', () => {
  test('when next and previous are followed, then the absolute links walk every FlowRun newest first, and site_id filters', async () => {
    const t = await tenant();
    const secondSite = await stack.call('POST', '/api/v1/apps', { name: 'second', platform: 'web' }, t.token);
    const flowId = await createFlow(t, { steps: [{ id: 'only', type: 'transform', config: { expression: '1' } }] });
    const created: string[] = [];
    for (const site of [t.siteId, t.siteId, secondSite.body.id, t.siteId, secondSite.body.id])
      created.push((await startFlowRun(t, flowId, undefined, site)).id);
    const noSite = await stack.call('POST', `/api/v1/flows/${flowId}/runs`, { data: {} }, t.token);
    expect(noSite.status).toBe(201);

    const first = await seedRequest('GET', `${api()}/flowrun?limit=2&offset=0`, t.token);
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(['count', 'next', 'previous', 'results']);
    expect(first.body).toMatchObject({ count: 5, previous: null, next: `${api()}/flowrun?limit=2&offset=2` });
    const second = await seedRequest('GET', first.body.next, t.token);
    expect(second.body).toMatchObject({ count: 5, previous: `${api()}/flowrun?limit=2&offset=0`, next: `${api()}/flowrun?limit=2&offset=4` });
    const third = await seedRequest('GET', second.body.next, t.token);
    expect(third.body).toMatchObject({ count: 5, previous: `${api()}/flowrun?limit=2&offset=2`, next: null });
    const back = await seedRequest('GET', third.body.previous, t.token);

    const walked = [first, second, third].flatMap((p) => p.body.results.map((r: any) => r.id));
    expect(walked).toEqual([...created].reverse());
    expect(back.body.results.map((r: any) => r.id)).toEqual(second.body.results.map((r: any) => r.id));
    for (const r of first.body.results) expectSeedShape(r, SEED_EXAMPLE);

    const bySite = await seedRequest('GET', `${api()}/flowrun?limit=1&offset=0&site_id=${secondSite.body.id}`, t.token);
    expect(bySite.body).toMatchObject({ count: 2, previous: null, next: `${api()}/flowrun?limit=1&offset=1&site_id=${secondSite.body.id}` });
    expect(bySite.body.results.map((r: any) => [r.id, r.site])).toEqual([[created[4], secondSite.body.id]]);

    const defaults = await seedRequest('GET', `${api()}/flowrun/`, t.token);
    expect(defaults.body).toMatchObject({ count: 5, next: null, previous: null });
    expect(defaults.body.results).toHaveLength(5);
  });
});

describe('DELETE /v1/ops/flowrun/:id (seed 001 Delete a FlowRun)', () => {
  test('when a running FlowRun is deleted, then its Temporal workflow is stopped, the answer is the seed message and it is gone', async () => {
    const t = await tenant();
    const flowId = await createFlow(t, { steps: [{ id: 'sleep', type: 'delay', config: { durationMs: 60_000 } }] });
    const created = await startFlowRun(t, flowId);
    await waitFor(t, created.id, (r) => r.status === 'working', 10_000);

    const res = await seedRequest('DELETE', `${api()}/flowrun/${created.id}`, t.token);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: 'flowrun deleted successfully' });
    const desc = await stack.client.workflow.getHandle(`run-${created.id}`).describe();
    expect(['CANCELLED', 'TERMINATED']).toContain(desc.status.name);
    const again = await seedRequest('GET', `${api()}/flowrun/${created.id}`, t.token);
    expect(again.status).toBe(404);
    expect((await seedRequest('DELETE', `${api()}/flowrun/${created.id}`, t.token)).status).toBe(404);
    const rows = await stack.dataSource.query(
      `SELECT (SELECT count(*) FROM runs WHERE id = $1)::int AS runs, (SELECT count(*) FROM step_runs WHERE run_id = $1)::int AS steps,
              (SELECT count(*) FROM run_logs WHERE run_id = $1)::int AS logs`,
      [created.id],
    );
    expect(rows[0]).toEqual({ runs: 0, steps: 0, logs: 0 });
    const list = await seedRequest('GET', `${api()}/flowrun`, t.token);
    expect(list.body.count).toBe(0);
  });

  test('when a finished FlowRun is deleted, then 200 and its seed 000 run is gone too', async () => {
    const t = await tenant();
    const flowId = await createFlow(t, { steps: [{ id: 'only', type: 'transform', config: { expression: '1' } }] });
    const created = await startFlowRun(t, flowId);
    await waitFor(t, created.id, isFinal);

    const res = await seedRequest('DELETE', `${api()}/flowrun/${created.id}`, t.token);

    expect(res.status).toBe(200);
    expect((await stack.call('GET', `/api/v1/runs/${created.id}`, undefined, t.token)).status).toBe(404);
  });
});

describe('seed 001 errors', () => {
  test('when site_id or flow_id is missing, then 400 names the field', async () => {
    const t = await tenant();

    const noSite = await seedRequest('POST', `${api()}/flowrun`, t.token, { flow_id: 'x' });
    const noFlow = await seedRequest('POST', `${api()}/flowrun`, t.token, { site_id: t.siteId });
    const badConfig = await seedRequest('POST', `${api()}/flowrun`, t.token, { site_id: t.siteId, flow_id: 'x', configs: { end_on_fail: 'yes' } });

    expect([noSite.status, noFlow.status, badConfig.status]).toEqual([400, 400, 400]);
    expect(noSite.body.detail[0].loc).toEqual(['body', 'site_id']);
    expect(noSite.body.error).toMatch(/^body\.site_id/);
    expect(noFlow.body.detail[0].loc).toEqual(['body', 'flow_id']);
    expect(badConfig.body.detail[0].loc).toEqual(['body', 'configs', 'end_on_fail']);
  });

  test("when site_id or flow_id is unknown or another account's, then 404 names it", async () => {
    const t = await tenant();
    const flowId = await createFlow(t, { steps: [{ id: 'only', type: 'transform', config: { expression: '1' } }] });

    const unknownSite = await seedRequest('POST', `${api()}/flowrun`, t.token, { site_id: 'no-such-site', flow_id: flowId });
    const theirSite = await seedRequest('POST', `${api()}/flowrun`, t.token, { site_id: t.other.siteId, flow_id: flowId });
    const unknownFlow = await seedRequest('POST', `${api()}/flowrun`, t.token, { site_id: t.siteId, flow_id: 'no-such-flow' });
    const listTheirSite = await seedRequest('GET', `${api()}/flowrun?site_id=${t.other.siteId}`, t.token);

    expect([unknownSite.status, theirSite.status, unknownFlow.status, listTheirSite.status]).toEqual([404, 404, 404, 404]);
    expect(unknownSite.body.detail[0].loc).toEqual(['body', 'site_id']);
    expect(theirSite.body.detail[0].loc).toEqual(['body', 'site_id']);
    expect(unknownFlow.body.detail[0].loc).toEqual(['body', 'flow_id']);
    expect(unknownFlow.body.error).toContain('no-such-flow');
    expect(listTheirSite.body.detail[0].loc).toEqual(['query', 'site_id']);
  });

  test("when another account's FlowRun is read or deleted, then 404 and it is untouched", async () => {
    const t = await tenant();
    const flowId = await createFlow(t, { steps: [{ id: 'only', type: 'transform', config: { expression: '1' } }] });
    const created = await startFlowRun(t, flowId);

    const read = await seedRequest('GET', `${api()}/flowrun/${created.id}`, t.other.token);
    const del = await seedRequest('DELETE', `${api()}/flowrun/${created.id}`, t.other.token);
    const list = await seedRequest('GET', `${api()}/flowrun`, t.other.token);

    expect([read.status, del.status]).toEqual([404, 404]);
    expect(read.body.detail[0].loc).toEqual(['path', 'id']);
    expect(list.body).toEqual({ count: 0, next: null, previous: null, results: [] });
    expect((await seedRequest('GET', `${api()}/flowrun/${created.id}`, t.token)).status).toBe(200);
  });

  test('when a run has no site, then it is not a FlowRun: 404', async () => {
    const t = await tenant();
    const flowId = await createFlow(t, { steps: [{ id: 'only', type: 'transform', config: { expression: '1' } }] });
    const run = await stack.call('POST', `/api/v1/flows/${flowId}/runs`, { data: {} }, t.token);

    expect((await seedRequest('GET', `${api()}/flowrun/${run.body.id}`, t.token)).status).toBe(404);
  });

  test('when limit or offset is out of range, then 400 names it', async () => {
    const t = await tenant();

    const answers = await Promise.all(
      ['limit=0', 'limit=101', 'limit=abc', 'offset=-1'].map((q) => seedRequest('GET', `${api()}/flowrun?${q}`, t.token)),
    );

    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400]);
    expect(answers.map((a) => a.body.detail[0].loc)).toEqual([['query', 'limit'], ['query', 'limit'], ['query', 'limit'], ['query', 'offset']]);
  });

  test('when no key or an unknown key is sent, then 401', async () => {
    const noKey = await seedRequest('GET', `${api()}/flowrun?limit=10&offset=0`, null);
    const badKey = await seedRequest('POST', `${api()}/flowrun`, 'not-a-key', { site_id: 'a', flow_id: 'b' });

    expect([noKey.status, badKey.status]).toEqual([401, 401]);
    expect(noKey.body).toEqual({ error: expect.any(String), detail: [] });
  });

  test('when a method the seed does not list is used, then 405 with Allow', async () => {
    const t = await tenant();

    const put = await seedRequest('PUT', `${api()}/flowrun/some-id`, t.token, {});
    const del = await seedRequest('DELETE', `${api()}/flowrun`, t.token);

    expect([put.status, del.status]).toEqual([405, 405]);
    expect(put.headers.get('allow')).toContain('DELETE');
    expect(del.headers.get('allow')).toContain('POST');
  });
});
