/**
 * FlowRun objects (the FlowRun-objects contract), created and retrieved: the contract's own Python `requests` calls,
 * translated to fetch (test/flowrun-objects-client.ts) and replayed against the real gateway,
 * worker, Temporal and Postgres, with a stub server for the http nodes. Shapes are checked against
 * the seed's example object. Listing, deleting and errors are test/flowrun-objects-list.test.ts.
 */
import { withStack } from './harness';
import { SEED_EXAMPLE, expectSeedShape, seedRequest, isFinal, nodeById, flowRunClient } from './flowrun-objects-client';

const stack = withStack({ workers: true, stub: true });
const { api, tenant, createFlow, startFlowRun, waitFor } = flowRunClient(stack);
beforeEach(() => {
  stack.stub.requests.length = 0;
  stack.stub.setHandler(() => ({ status: 200, body: { ok: true } }));
});

describe('POST and GET /v1/ops/flowrun (FlowRun-objects: Create / Retrieve a FlowRun)', () => {
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
    expect(stack.stub.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /scan']);
    expect(done.logs.length).toBeGreaterThan(0);
    for (const log of done.logs) expect(log.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    const times = done.logs.map((l: any) => l.timestamp);
    expect([...times].sort()).toEqual(times);
    expect(done.logs.find((l: any) => l.message === 'run started')).toMatchObject({ step: '1' });
    expect(done.logs.some((l: any) => l.step === '2')).toBe(true);
  });

  test('when the seed example retrieves a FlowRun, then it is the object POST answered, read through the CI-batch run detail', async () => {
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
    stack.stub.setHandler((req) => (req.url === '/missing' ? { status: 404, body: 'no' } : { body: { ok: true } }));
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
    expect(stack.stub.requests.map((r) => r.url).sort()).toEqual(['/fine', '/missing']);
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
