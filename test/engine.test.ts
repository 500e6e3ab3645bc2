/**
 * The engine end to end: HTTP trigger → batch workflow → flow-run children → activities →
 * Postgres projections, against a real Temporal dev server, real Postgres and a real stub HTTP server.
 */
import { startWorkers, withStack } from './harness';

const stack = withStack({ workers: true, stub: true, app: 'shop' });

let seq = 0;
async function createFlow(def: Record<string, unknown>): Promise<string> {
  const id = `flow-${Date.now().toString(36)}-${seq++}`;
  const res = await stack.call('POST', '/api/v1/flows', { id, name: id, ...def }, stack.key);
  if (res.status !== 201) throw new Error(`create flow: ${res.status} ${JSON.stringify(res.body)}`);
  return id;
}

async function trigger(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, source: 'ci', ...body }, stack.key, headers);
}

async function waitForBatch(batchId: string, timeoutMs = 45_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await stack.call('GET', `/api/v1/runs/status?batch_id=${batchId}`, undefined, stack.key);
    expect(res.status).toBe(200);
    if (res.body.is_complete) return res.body;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} not complete: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function runOnce(def: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const flowId = await createFlow(def);
  const t = await trigger({ flow_ids: [flowId], ...extra });
  expect(t.status).toBe(200);
  const status = await waitForBatch(t.body.batch_id);
  const run = await stack.call('GET', `/api/v1/runs/${status.runs[0].id}`, undefined, stack.key);
  expect(run.status).toBe(200);
  const actions = Object.fromEntries(run.body.actions.map((a: any) => [a.step_id, a]));
  return { flowId, batch: status, run: run.body, actions };
}

const fastRetry = (maxAttempts = 3) => ({ maxAttempts, initialIntervalMs: 50, backoffCoefficient: 1 });

describe('the engine', () => {
  beforeEach(() => {
    stack.stub.requests.length = 0;
    stack.stub.setHandler(() => ({ status: 200, body: { ok: true } }));
  });

  it('when the SPEC §4 example runs, then the stub receives the resolved variables, the trigger data and the templated body', async () => {
    stack.stub.setHandler((req) => (req.url.startsWith('/orders') ? { body: [{ id: 1 }, { id: 2 }, { id: 3 }] } : { body: { ok: true } }));
    const build = await stack.call('POST', `/api/v1/apps/${stack.appId}/builds`, { version: '1.0.0', variables: { API_URL: stack.stub.url } }, stack.key);
    expect(build.status).toBe(201);
    const { run, actions } = await runOnce(
      {
        variables: { REGION: 'eu' },
        configs: { endOnFail: true, timeoutMs: 60_000 },
        steps: [
          { id: 'orders', name: 'Query Orders', type: 'http', config: { method: 'GET', url: '${env:API_URL}/orders?region=${env:REGION}', expectStatus: [200] }, retry: { maxAttempts: 3 } },
          { id: 'report', name: 'Format Report', type: 'transform', config: { expression: "{ 'count': $count(steps.orders.output.body), 'by': trigger.body.userId }" } },
          { id: 'pause', type: 'delay', dependsOn: [], config: { durationMs: 300 } },
          {
            id: 'notify', name: 'Send Slack Message', type: 'http', dependsOn: ['report', 'pause'], if: 'steps.report.output.count > 0',
            config: { method: 'POST', url: '${env:SLACK_WEBHOOK}', body: { text: 'Orders: {{steps.report.output.count}}', by: '{{steps.report.output.by}}', count: '{{ steps.report.output.count }}' } },
          },
        ],
      },
      { env: `SLACK_WEBHOOK=${stack.stub.url}/slack`, data: { userId: 'user_123' } },
    );
    expect(run.status).toBe('succeeded');
    expect(stack.stub.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /orders?region=eu', 'POST /slack']);
    expect(stack.stub.requests[1].body).toEqual({ text: 'Orders: 3', by: 'user_123', count: 3 });
    expect(actions.report.output).toEqual({ count: 3, by: 'user_123' });
    expect(actions.orders.output).toMatchObject({ status: 200, body: [{ id: 1 }, { id: 2 }, { id: 3 }] });
    expect(actions.pause.status).toBe('succeeded');
    const build2 = await stack.call('POST', `/api/v1/apps/${stack.appId}/builds`, { version: '1.0.1', variables: {} }, stack.key);
    expect(build2.status).toBe(201);
  });

  it('when two steps have no dependencies, then their requests overlap in time', async () => {
    const open: number[] = [];
    let maxOpen = 0;
    stack.stub.setHandler(async () => {
      open.push(1);
      maxOpen = Math.max(maxOpen, open.length);
      await new Promise((r) => setTimeout(r, 800));
      open.pop();
      return { body: { ok: true } };
    });
    const { run } = await runOnce({
      variables: { U: stack.stub.url },
      steps: [
        { id: 'a', type: 'http', dependsOn: [], config: { url: '${env:U}/a' } },
        { id: 'b', type: 'http', dependsOn: [], config: { url: '${env:U}/b' } },
        { id: 'c', type: 'transform', dependsOn: ['a', 'b'], config: { expression: 'steps.a.output.status + steps.b.output.status' } },
      ],
    });
    expect(run.status).toBe('succeeded');
    expect(maxOpen).toBe(2);
    expect(run.actions.find((a: any) => a.step_id === 'c').output).toBe(400);
  });

  it('when an `if` is false, then the step and the steps depending only on it are skipped', async () => {
    const { run, actions } = await runOnce({
      variables: { U: stack.stub.url },
      steps: [
        { id: 'gate', type: 'transform', config: { expression: '1' } },
        { id: 'never', type: 'http', if: 'steps.gate.output = 2', config: { url: '${env:U}/never' } },
        { id: 'after', type: 'http', dependsOn: ['never'], config: { url: '${env:U}/after' } },
        { id: 'always', type: 'transform', dependsOn: ['gate'], config: { expression: '"ran"' } },
      ],
    });
    expect(run.status).toBe('succeeded');
    expect(actions.never.status).toBe('skipped');
    expect(actions.after.status).toBe('skipped');
    expect(actions.always.output).toBe('ran');
    expect(stack.stub.requests).toHaveLength(0);
  });

  it('when the server answers 503 then 200, then the step retries and succeeds on its second attempt', async () => {
    let n = 0;
    stack.stub.setHandler(() => (n++ === 0 ? { status: 503, body: 'busy' } : { body: { ok: true } }));
    const { run, actions } = await runOnce({
      variables: { U: stack.stub.url },
      steps: [{ id: 'flaky', type: 'http', config: { url: '${env:U}/flaky' }, retry: fastRetry(3) }],
    });
    expect(run.status).toBe('succeeded');
    expect(actions.flaky.attempts).toBe(2);
    expect(stack.stub.requests).toHaveLength(2);
    const net = await stack.call('GET', new URL(run.artifacts.network_requests_url).pathname, undefined, stack.key);
    const lines = String(net.body).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.status)).toEqual([503, 200]);
  });

  it('when the server is unreachable, then the request is logged with status 0 and an error, and the step fails after its attempts', async () => {
    const { run, actions } = await runOnce({
      steps: [{ id: 'down', type: 'http', config: { url: 'http://127.0.0.1:1/nothing' }, retry: fastRetry(2) }],
    });
    expect(run.status).toBe('failed');
    expect(actions.down.attempts).toBe(2);
    const net = await stack.call('GET', new URL(run.artifacts.network_requests_url).pathname, undefined, stack.key);
    const lines = String(net.body).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ method: 'GET', status: 0, resource_type: 'fetch' });
    expect(lines[0].error).toBeTruthy();
  });

  it('when a step gets a 404 with endOnFail true, then it fails without retry and the run stops', async () => {
    stack.stub.setHandler(() => ({ status: 404, body: { error: 'nope' } }));
    const { run, actions } = await runOnce({
      variables: { U: stack.stub.url },
      configs: { endOnFail: true },
      steps: [
        { id: 'get', type: 'http', config: { url: '${env:U}/missing' }, retry: fastRetry(5) },
        { id: 'next', type: 'transform', config: { expression: '1' } },
      ],
    });
    expect(run.status).toBe('failed');
    expect(actions.get.status).toBe('failed');
    expect(actions.get.attempts).toBe(1);
    expect(actions.get.error).toMatch(/404/);
    expect(actions.next.status).toBe('skipped');
    expect(run.error).toMatchObject({ step: 'get' });
    expect(stack.stub.requests).toHaveLength(1);
  });

  it('when a step gets a 404 with endOnFail false, then independent branches go on and the run fails', async () => {
    stack.stub.setHandler((req) => (req.url === '/missing' ? { status: 404, body: 'no' } : { body: { ok: true } }));
    const { run, actions } = await runOnce({
      variables: { U: stack.stub.url },
      configs: { endOnFail: false },
      steps: [
        { id: 'bad', type: 'http', dependsOn: [], config: { url: '${env:U}/missing' } },
        { id: 'after-bad', type: 'transform', dependsOn: ['bad'], config: { expression: '1' } },
        { id: 'good', type: 'delay', dependsOn: [], config: { durationMs: 300 } },
        { id: 'after-good', type: 'http', dependsOn: ['good'], config: { url: '${env:U}/fine' } },
      ],
    });
    expect(run.status).toBe('failed');
    expect(actions.bad.attempts).toBe(1);
    expect(actions['after-bad'].status).toBe('skipped');
    expect(actions.good.status).toBe('succeeded');
    expect(actions['after-good'].status).toBe('succeeded');
  });

  it('when ${env:KEY} is not defined, then the step fails naming KEY', async () => {
    const { run, actions } = await runOnce({
      steps: [{ id: 'call', type: 'http', config: { url: '${env:NOT_DEFINED_ANYWHERE}/x' } }],
    });
    expect(run.status).toBe('failed');
    expect(actions.call.error).toContain('NOT_DEFINED_ANYWHERE');
    expect(actions.call.attempts).toBe(1);
  });

  it('when the flow exceeds timeoutMs, then the run is timed_out', async () => {
    const { run, actions } = await runOnce({
      configs: { timeoutMs: 500 },
      steps: [{ id: 'long', type: 'delay', config: { durationMs: 60_000 } }],
    });
    expect(run.status).toBe('timed_out');
    expect(actions.long.status).toBe('cancelled');
  });

  it('when the worker restarts during a delay, then the run completes afterwards', async () => {
    const flowId = await createFlow({
      variables: { U: stack.stub.url },
      steps: [
        { id: 'wait', type: 'delay', config: { durationMs: 2500 } },
        { id: 'ping', type: 'http', config: { url: '${env:U}/after-restart' } },
      ],
    });
    const t = await trigger({ flow_ids: [flowId] });
    const runId = t.body.runs[0].id;
    const waitRunning = async () => {
      for (let i = 0; i < 100; i++) {
        const r = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key);
        if (r.body.actions?.find((a: any) => a.step_id === 'wait')?.status === 'running') return;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error('delay never started');
    };
    await waitRunning();
    await stack.workers?.stop();
    await new Promise((r) => setTimeout(r, 3000));
    expect(stack.stub.requests).toHaveLength(0);
    stack.workers = await startWorkers(stack);
    const status = await waitForBatch(t.body.batch_id);
    expect(status.runs[0].status).toBe('succeeded');
    expect(stack.stub.requests.map((r) => r.url)).toEqual(['/after-restart']);
  });

  it('when a run is cancelled mid-run, then it and its running step are recorded cancelled', async () => {
    const flowId = await createFlow({ steps: [{ id: 'sleep', type: 'delay', config: { durationMs: 60_000 } }, { id: 'never', type: 'transform', config: { expression: '1' } }] });
    const t = await trigger({ flow_ids: [flowId] });
    const runId = t.body.runs[0].id;
    for (let i = 0; i < 100; i++) {
      const r = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key);
      if (r.body.status === 'running') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const c = await stack.call('POST', `/api/v1/runs/${runId}/cancel`, undefined, stack.key);
    expect(c.status).toBe(202);
    const status = await waitForBatch(t.body.batch_id);
    expect(status.runs[0].status).toBe('cancelled');
    const run = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key);
    expect(run.body.actions.map((a: any) => a.status)).toEqual(['cancelled', 'cancelled']);
    const rows = await stack.dataSource.query('SELECT status FROM runs WHERE id = $1', [runId]);
    expect(rows[0].status).toBe('cancelled');
  });

  it('when a batch of several flows runs with max_parallel 2, then every run completes and the batch succeeds', async () => {
    const ids = await Promise.all(
      [1, 2, 3].map((n) => createFlow({ variables: { U: stack.stub.url }, steps: [{ id: 'hit', type: 'http', config: { url: `\${env:U}/flow-${n}` } }] })),
    );
    const t = await trigger({ flow_ids: ids, max_parallel: 2 });
    expect(t.body.runs).toHaveLength(3);
    const status = await waitForBatch(t.body.batch_id);
    expect(status.status).toBe('succeeded');
    expect(status.runs.map((r: any) => r.flow_id)).toEqual(ids);
    expect(status.runs.every((r: any) => r.status === 'succeeded' && r.duration_ms >= 0)).toBe(true);
    expect(stack.stub.requests.map((r) => r.url).sort()).toEqual(['/flow-1', '/flow-2', '/flow-3']);
    const desc = await stack.client.workflow.getHandle(`run-${status.runs[0].id}`).describe();
    expect(desc.typedSearchAttributes.get({ name: 'FlowId', type: 'KEYWORD' } as never)).toBe(ids[0]);
  });

  it('when the same Idempotency-Key is sent twice, then one batch is created; with another body, then 422', async () => {
    const flowId = await createFlow({ variables: { U: stack.stub.url }, steps: [{ id: 'hit', type: 'http', config: { url: '${env:U}/once' } }] });
    const headers = { 'Idempotency-Key': `key-${flowId}` };
    const [a, b] = await Promise.all([trigger({ flow_ids: [flowId] }, headers), trigger({ flow_ids: [flowId] }, headers)]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.body.batch_id).toBe(a.body.batch_id);
    await waitForBatch(a.body.batch_id);
    const c = await trigger({ flow_ids: [flowId] }, headers);
    expect(c.body.batch_id).toBe(a.body.batch_id);
    expect(stack.stub.requests.filter((r) => r.url === '/once')).toHaveLength(1);
    const d = await trigger({ flow_ids: [flowId], tags: ['other'] }, headers);
    expect(d.status).toBe(422);
    expect(d.body.detail[0].loc).toEqual(['header', 'Idempotency-Key']);
    const rows = await stack.dataSource.query('SELECT count(*)::int AS n FROM runs WHERE flow_id = $1', [flowId]);
    expect(rows[0].n).toBe(1);
  });

  it('when the per-flow runs contract triggers a run with data, then the data is trigger.body and the answer is 201 RUNNING', async () => {
    const flowId = await createFlow({ steps: [{ id: 'echo', type: 'transform', config: { expression: 'trigger.body.customField' } }] });
    const res = await stack.call('POST', `/api/v1/flows/${flowId}/runs`, { data: { customField: 'value' } }, stack.key);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ flowId, status: 'RUNNING' });
    expect(Date.parse(res.body.startTime)).not.toBeNaN();
    for (let i = 0; i < 200; i++) {
      const r = await stack.call('GET', `/api/v1/flows/${flowId}/runs/${res.body.id}`, undefined, stack.key);
      if (r.body.status === 'SUCCEEDED') {
        expect(r.body.steps[0]).toMatchObject({ name: 'echo', status: 'SUCCEEDED', output: 'value' });
        return;
      }
      await new Promise((res2) => setTimeout(res2, 100));
    }
    throw new Error('run did not succeed');
  });

  it('when an approval step waits, then the run is waiting until a reviewer approves it through the API', async () => {
    const flowId = await createFlow({
      steps: [
        { id: 'review', type: 'approval', config: { message: 'ship it?' } },
        { id: 'after', type: 'transform', config: { expression: 'steps.review.output.approved' } },
      ],
    });
    const t = await trigger({ flow_ids: [flowId] });
    const runId = t.body.runs[0].id;
    let run: any;
    for (let i = 0; i < 100; i++) {
      run = (await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key)).body;
      if (run.status === 'waiting') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(run.status).toBe('waiting');
    const early = await stack.call('POST', `/api/v1/runs/${runId}/steps/after/approve`, {}, stack.key);
    expect(early.status).toBe(409);
    const ok = await stack.call('POST', `/api/v1/runs/${runId}/steps/review/approve`, { comment: 'lgtm' }, stack.key);
    expect(ok.status).toBe(202);
    const status = await waitForBatch(t.body.batch_id);
    expect(status.runs[0].status).toBe('succeeded');
    const done = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key);
    expect(done.body.actions.find((a: any) => a.step_id === 'after').output).toBe(true);
    const rows = await stack.dataSource.query('SELECT reviewed_by, reviewed_at FROM runs WHERE id = $1', [runId]);
    expect(rows[0].reviewed_by).toBeTruthy();
    expect(rows[0].reviewed_at).toBeTruthy();
  });
});
