/**
 * FlowRun objects (the FlowRun-objects contract), listed and deleted, and the errors a client gets: its own
 * Python `requests` calls translated to fetch (test/flowrun-objects-client.ts) against the real
 * stack. Creating and retrieving is test/flowrun-objects.test.ts.
 */
import { withStack } from './harness';
import { SEED_EXAMPLE, expectSeedShape, seedRequest, isFinal, flowRunClient } from './flowrun-objects-client';

const stack = withStack({ workers: true, stub: true });
const { api, tenant, createFlow, startFlowRun, waitFor } = flowRunClient(stack);
beforeEach(() => {
  stack.stub.requests.length = 0;
  stack.stub.setHandler(() => ({ status: 200, body: { ok: true } }));
});

describe('GET /v1/ops/flowrun (FlowRun-objects: Retrieve many FlowRuns)', () => {
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

describe('DELETE /v1/ops/flowrun/:id (FlowRun-objects: Delete a FlowRun)', () => {
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

  test('when a finished FlowRun is deleted, then 200 and its CI-batch run is gone too', async () => {
    const t = await tenant();
    const flowId = await createFlow(t, { steps: [{ id: 'only', type: 'transform', config: { expression: '1' } }] });
    const created = await startFlowRun(t, flowId);
    await waitFor(t, created.id, isFinal);

    const res = await seedRequest('DELETE', `${api()}/flowrun/${created.id}`, t.token);

    expect(res.status).toBe(200);
    expect((await stack.call('GET', `/api/v1/runs/${created.id}`, undefined, t.token)).status).toBe(404);
  });
});

describe('FlowRun-objects errors', () => {
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
