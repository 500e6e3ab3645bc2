/**
 * Completion webhooks against the real stack: a flow's `notify` is called when its runs finish,
 * a trigger's when the batch finishes; each POST is signed with the account's webhook secret,
 * retried with backoff when the receiver fails, and recorded in the run's log.
 */
import { createHmac } from 'node:crypto';
import { startStack, startWorkers, type Loose, type RunningWorkers, type Stack } from './harness';
import { startStub, type RecordedRequest, type Stub } from './stub-server';

let stack: Stack;
let workers: RunningWorkers;
let stub: Stub;
let key: string;
let appId: string;
let flakyCalls = 0;

beforeAll(async () => {
  stack = await startStack();
  workers = await startWorkers(stack);
  stub = await startStub((req) => {
    if (req.url === '/bad') return { status: 500, body: { bad: true } };
    if (req.url === '/flaky') return ++flakyCalls === 1 ? { status: 503, body: {} } : { status: 204 };
    return { body: { ok: true } };
  });
  ({ apiKey: key } = await stack.newAccount());
  appId = (await stack.call('POST', '/api/v1/apps', { name: 'shop', platform: 'web', baseUrl: stub.url }, key)).body.id;
});

afterAll(async () => {
  await workers?.stop();
  await stub?.close();
  await stack?.stop();
});

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const posted = (path: string) => stub.requests.filter((r) => r.method === 'POST' && r.url === path);

function verify(req: RecordedRequest, secret: string): boolean {
  const raw = JSON.stringify(req.body);
  return req.headers['x-flowruns-signature'] === `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
}

it('when runs and their batch finish, then the flow and trigger webhooks that want the outcome get a signed POST, recorded in the run log', async () => {
  const notify = [
    { url: `${stub.url}/on-failure`, on: ['failed'] },
    { url: `${stub.url}/always` },
  ];
  const ok = { id: 'hooked-ok', name: 'ok', notify, steps: [{ id: 'x', type: 'transform', config: { expression: '1' } }] };
  const bad = { id: 'hooked-bad', name: 'bad', notify, steps: [{ id: 'call', type: 'http', config: { url: `${stub.url}/bad` }, retry: { maxAttempts: 1 } }] };
  expect((await stack.call('POST', '/api/v1/flows', ok, key)).status).toBe(201);
  expect((await stack.call('POST', '/api/v1/flows', bad, key)).status).toBe(201);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: ['hooked-ok', 'hooked-bad'], max_parallel: 2, notify: [{ url: `${stub.url}/batch`, on: ['finished'] }] }, key);
  expect(t.status).toBe(200);
  const [okRun, badRun] = t.body.runs.map((r: Loose) => r.id);

  const batchHook = await until('the batch webhook', () => posted('/batch')[0]);
  await until('both run webhooks', () => (posted('/always').length === 2 ? true : undefined));
  const secret = (await stack.call('GET', '/api/v1/webhook-secret', undefined, key)).body.secret;
  expect(secret).toMatch(/^whsec_/);

  expect(batchHook.body).toEqual({
    event: 'batch.finished',
    batch_id: t.body.batch_id,
    status: 'failed',
    links: { batch: expect.stringContaining(`/api/v1/runs/status?batch_id=${t.body.batch_id}`) },
  });
  const failure = posted('/on-failure');
  expect(failure).toHaveLength(1);
  expect(failure[0].body).toMatchObject({ event: 'run.finished', run_id: badRun, batch_id: t.body.batch_id, status: 'failed', error: { step: 'call' } });
  expect((failure[0].body as Loose).links.run).toMatch(new RegExp(`/api/v1/runs/${badRun}$`));
  expect(posted('/always').map((r) => (r.body as Loose).run_id).sort()).toEqual([okRun, badRun].sort());
  for (const req of [batchHook, ...failure, ...posted('/always')]) expect(verify(req, secret)).toBe(true);
  expect(verify(batchHook, 'whsec_someone-else')).toBe(false);

  const log = await fetch(`${stack.baseUrl}/api/v1/runs/${badRun}/artifacts/log.jsonl`, { headers: { 'X-API-Key': key } });
  expect(await log.text()).toContain(`webhook run.finished to ${stub.url}/on-failure: delivered (HTTP 200, attempt 1)`);

  // Seed 001 shows notifications as `slack` nodes after the steps that end the run.
  const objects = async (runId: string) => (await stack.call('GET', `/v1/ops/flowrun/${runId}`, undefined, key)).body as Loose;
  const bad001 = await objects(badRun);
  const slack = bad001.nodes.filter((n: Loose) => n.data.task_type === 'slack');
  expect(slack.map((n: Loose) => [n.data.uri, n.data.status, n.data.attempts])).toEqual([
    [`${stub.url}/on-failure`, 'passed', 1],
    [`${stub.url}/always`, 'passed', 1],
  ]);
  expect(bad001.edges).toEqual(expect.arrayContaining([expect.objectContaining({ source: 'call', target: slack[0].id })]));
  const ok001 = await objects(okRun);
  expect(ok001.nodes.filter((n: Loose) => n.data.task_type === 'slack').map((n: Loose) => n.data.status)).toEqual(['skipped', 'passed']);
});

it('when a receiver fails, then the webhook is retried with backoff and each attempt is in the run log', async () => {
  const flow = { id: 'hooked-flaky', name: 'flaky', notify: [{ url: `${stub.url}/flaky` }], steps: [{ id: 'x', type: 'transform', config: { expression: '1' } }] };
  expect((await stack.call('POST', '/api/v1/flows', flow, key)).status).toBe(201);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: ['hooked-flaky'] }, key);
  const runId = t.body.runs[0].id;
  await until('the second delivery', () => (posted('/flaky').length === 2 ? true : undefined));
  const lines = await until('both attempts in the log', async () => {
    const text = await (await fetch(`${stack.baseUrl}/api/v1/runs/${runId}/artifacts/log.jsonl`, { headers: { 'X-API-Key': key } })).text();
    const hooks = text.split('\n').filter((l) => l.includes('/flaky')).map((l) => JSON.parse(l).message as string);
    return hooks.length === 2 ? hooks : undefined;
  });
  expect(lines[0]).toMatch(/attempt 1 of 6 failed \(HTTP 503\); retrying/);
  expect(lines[1]).toMatch(/delivered \(HTTP 204, attempt 2\)/);
});

it('when a webhook is not an http URL or names an unknown outcome, then saving the flow is a 400 naming the field', async () => {
  const steps = [{ id: 'x', type: 'transform', config: { expression: '1' } }];
  const scheme = await stack.call('POST', '/api/v1/flows', { id: 'bad-hook', name: 'b', notify: [{ url: 'ftp://example.com/x' }], steps }, key);
  expect(scheme.status).toBe(400);
  expect(scheme.body.detail[0].loc).toEqual(['body', 'notify', 0, 'url']);
  const on = await stack.call('POST', '/api/v1/flows', { id: 'bad-hook', name: 'b', notify: [{ url: `${stub.url}/x`, on: ['sometimes'] }], steps }, key);
  expect(on.status).toBe(400);
  expect(on.body.detail[0].loc).toEqual(['body', 'notify', 0, 'on', 0]);
  expect((await stack.call('GET', '/api/v1/webhook-secret', undefined, null)).status).toBe(401);
});
