/**
 * The CI-batch contract's run status, run results and artifacts. Projection rows are written
 * through the entities where a test pins what the read side makes of them (test/run-rows.ts); a
 * flow's run detail, cancellation and the reconciliation with Temporal are test/runs-reconcile.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { AppEntity, RunLogEntity, RunRequestEntity } from '../db/entities';
import type { Run } from '../db/entities';
import { withStack } from './harness';
import { at, insertBatch, insertRun, insertSteps } from './run-rows';

const stack = withStack({ workers: true });

describe('GET /api/v1/runs/status', () => {
  test('when a batch has finished runs, then they are listed by position with the batch status derived from them', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const batch = await insertBatch(stack, accountId);
    const second = await insertRun(stack, accountId, {
      batchId: batch.id,
      position: 1,
      flowId: 'checkout',
      flowName: 'Checkout',
      status: 'failed',
      startedAt: at(0),
      finishedAt: at(1200),
      durationMs: 1200,
      error: { step: 'Pay', message: 'card declined' },
    });
    const first = await insertRun(stack, accountId, { batchId: batch.id, position: 0, startedAt: at(0), finishedAt: at(2340), durationMs: 2340 });

    const res = await stack.call('GET', `/api/v1/runs/status?batch_id=${batch.id}`, undefined, apiKey);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      batch_id: batch.id,
      status: 'failed',
      is_complete: true,
      source: 'ci',
      schedule_id: null,
      actor: { id: 'key-1', name: 'ci key', type: 'user' },
      created_at: expect.any(String),
      runs: [
        {
          id: first.id,
          flow_id: 'daily-sales-report',
          flow_name: 'Daily Sales Report',
          status: 'succeeded',
          started_at: at(0).toISOString(),
          finished_at: at(2340).toISOString(),
          duration_ms: 2340,
          error: null,
          flaky: false,
        },
        {
          id: second.id,
          flow_id: 'checkout',
          flow_name: 'Checkout',
          status: 'failed',
          started_at: at(0).toISOString(),
          finished_at: at(1200).toISOString(),
          duration_ms: 1200,
          error: { step: 'Pay', message: 'card declined' },
          flaky: false,
        },
      ],
    });
  });

  test('when a run is still open, then the batch is not complete', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const batch = await insertBatch(stack, accountId);
    await insertRun(stack, accountId, { batchId: batch.id, position: 0 });
    await insertRun(stack, accountId, { batchId: batch.id, position: 1, status: 'queued' });

    const res = await stack.call('GET', `/api/v1/runs/status?batch_id=${batch.id}`, undefined, apiKey);

    expect(res.body).toMatchObject({ status: 'running', is_complete: false });
  });

  test('when batch_id is missing, then 400 names query.batch_id', async () => {
    const res = await stack.call('GET', '/api/v1/runs/status');

    expect(res.status).toBe(400);
    expect(res.body.detail[0].loc).toEqual(['query', 'batch_id']);
  });

  test("when the batch is another account's or unknown, then 404", async () => {
    const owner = await stack.newAccount();
    const stranger = await stack.newAccount();
    const batch = await insertBatch(stack, owner.accountId);

    const theirs = await stack.call('GET', `/api/v1/runs/status?batch_id=${batch.id}`, undefined, stranger.apiKey);
    const unknown = await stack.call('GET', `/api/v1/runs/status?batch_id=${randomUUID()}`, undefined, owner.apiKey);

    expect([theirs.status, unknown.status]).toEqual([404, 404]);
  });
});

describe('GET /api/v1/runs/:runId and its artifacts', () => {
  async function finishedWebRun(accountId: string): Promise<Run> {
    const appId = randomUUID();
    await stack.dataSource.getRepository(AppEntity).insert({
      id: appId,
      accountId,
      name: 'Shop',
      platform: 'web',
      baseUrl: 'https://shop.example',
      bundleId: null,
      variables: {},
      activeBuildId: null,
    });
    const batch = await insertBatch(stack, accountId, { appId, browser: 'chrome' });
    const run = await insertRun(stack, accountId, {
      batchId: batch.id,
      appId,
      browser: 'chrome',
      status: 'failed',
      tags: [{ key: 'env', value: 'staging' }],
      triggerData: { userId: 'user_123' },
      variables: { REGION: 'eu', API_TOKEN: '****' },
      startedAt: at(0),
      finishedAt: at(1500),
      durationMs: 1500,
      error: { step: 'Notify', message: 'HTTP 404' },
    });
    await insertSteps(stack, run.id, [
      { stepId: 'auth.login', name: 'Log in', startedAt: at(0), finishedAt: at(100), durationMs: 100, output: { token: 'x' } },
      { stepId: 'orders', name: 'Query Orders', attempts: 2, startedAt: at(100), finishedAt: at(900), durationMs: 800, output: { status: 200 } },
      { stepId: 'notify', name: 'Notify', status: 'failed', startedAt: at(900), finishedAt: at(1400), durationMs: 500, error: 'HTTP 404' },
      { stepId: 'report', name: 'Report', type: 'transform', status: 'skipped', attempts: 0 },
    ]);
    await stack.dataSource.getRepository(RunLogEntity).insert([
      { runId: run.id, key: 'b', ts: at(900), level: 'error', stepId: 'notify', message: 'notify failed: HTTP 404' },
      { runId: run.id, key: 'a', ts: at(0), level: 'info', stepId: null, message: 'run started' },
    ]);
    await stack.dataSource.getRepository(RunRequestEntity).insert([
      { runId: run.id, stepId: 'orders', attempt: 1, ts: at(100), method: 'GET', url: 'https://api.example/orders', status: 0, resourceType: 'fetch', durationMs: 300, responseSize: 0, error: 'ECONNRESET' },
      { runId: run.id, stepId: 'orders', attempt: 2, ts: at(500), method: 'GET', url: 'https://api.example/orders', status: 200, resourceType: 'fetch', durationMs: 350, responseSize: 2048, error: null },
      { runId: run.id, stepId: 'notify', attempt: 1, ts: at(900), method: 'POST', url: 'https://hooks.example/x', status: 404, resourceType: 'fetch', durationMs: 450, responseSize: 18, error: null },
    ]);
    return run;
  }

  test('when a run finished, then its results carry metadata, summary, actions in order and absolute artifact URLs', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const run = await finishedWebRun(accountId);

    const res = await stack.call('GET', `/api/v1/runs/${run.id}`, undefined, apiKey);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: run.id,
      batch_id: run.batchId,
      flow_id: 'daily-sales-report',
      flow_name: 'Daily Sales Report',
      flow_version: 1,
      status: 'failed',
      source: 'ci',
      platform: 'web',
      browser: 'chrome',
      app_id: run.appId,
      tags: [{ key: 'env', value: 'staging' }],
      trigger_data: { userId: 'user_123' },
      variables: { REGION: 'eu', API_TOKEN: '****' },
      duration_ms: 1500,
      error: { step: 'Notify', message: 'HTTP 404' },
      summary: { total_actions: 4, succeeded: 2, failed: 1, skipped: 1, cancelled: 0, running: 0, queued: 0, text: '4 actions: 2 succeeded, 1 failed, 1 skipped' },
      artifacts: {
        performance_metrics_url: `${stack.baseUrl}/api/v1/runs/${run.id}/artifacts/performance.json`,
        log_url: `${stack.baseUrl}/api/v1/runs/${run.id}/artifacts/log.jsonl`,
        network_requests_url: `${stack.baseUrl}/api/v1/runs/${run.id}/artifacts/network.jsonl`,
      },
    });
    expect(res.body.actions.map((a: { step_id: string }) => a.step_id)).toEqual(['auth.login', 'orders', 'notify', 'report']);
    expect(res.body.actions[1]).toEqual({
      step_id: 'orders',
      name: 'Query Orders',
      type: 'http',
      status: 'succeeded',
      started_at: at(100).toISOString(),
      finished_at: at(900).toISOString(),
      duration_ms: 800,
      attempts: 2,
      output: { status: 200 },
      error: null,
      screenshot_url: null,
    });
  });

  test('when the log artifact is fetched, then it is JSONL in time order', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const run = await finishedWebRun(accountId);

    const res = await fetch(`${stack.baseUrl}/api/v1/runs/${run.id}/artifacts/log.jsonl`, { headers: { 'x-api-key': apiKey } });
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    expect(lines).toEqual([
      { timestamp: at(0).toISOString(), level: 'info', step: null, message: 'run started' },
      { timestamp: at(900).toISOString(), level: 'error', step: 'notify', message: 'notify failed: HTTP 404' },
    ]);
  });

  test('when the network artifact is fetched, then each request is a JSONL line and a failed one has status 0 and an error', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const run = await finishedWebRun(accountId);

    const res = await fetch(`${stack.baseUrl}/api/v1/runs/${run.id}/artifacts/network.jsonl`, { headers: { authorization: `Bearer ${apiKey}` } });
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));

    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    expect(lines).toEqual([
      { timestamp: at(100).toISOString(), step_id: 'orders', attempt: 1, method: 'GET', url: 'https://api.example/orders', status: 0, resource_type: 'fetch', duration_ms: 300, response_size: 0, error: 'ECONNRESET' },
      { timestamp: at(500).toISOString(), step_id: 'orders', attempt: 2, method: 'GET', url: 'https://api.example/orders', status: 200, resource_type: 'fetch', duration_ms: 350, response_size: 2048 },
      { timestamp: at(900).toISOString(), step_id: 'notify', attempt: 1, method: 'POST', url: 'https://hooks.example/x', status: 404, resource_type: 'fetch', duration_ms: 450, response_size: 18 },
    ]);
  });

  test('when the performance artifact is fetched, then it has the step timings and the HTTP totals', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const run = await finishedWebRun(accountId);

    const res = await stack.call('GET', `/api/v1/runs/${run.id}/artifacts/performance.json`, undefined, apiKey);

    expect(res.status).toBe(200);
    expect(res.body.run_id).toBe(run.id);
    expect(res.body.duration_ms).toBe(1500);
    expect(res.body.steps).toHaveLength(4);
    expect(res.body.steps[2]).toEqual({
      step_id: 'notify',
      name: 'Notify',
      type: 'http',
      status: 'failed',
      started_at: at(900).toISOString(),
      finished_at: at(1400).toISOString(),
      duration_ms: 500,
      attempts: 1,
    });
    expect(res.body.http).toEqual({ requests: 3, failed: 1, total_duration_ms: 1100, total_bytes: 2066 });
  });

  test('when a run has not started, then no artifact was produced: the URLs are null and the artifacts 404', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const run = await insertRun(stack, accountId, { status: 'queued', external: true });

    const res = await stack.call('GET', `/api/v1/runs/${run.id}`, undefined, apiKey);
    const log = await stack.call('GET', `/api/v1/runs/${run.id}/artifacts/log.jsonl`, undefined, apiKey);
    const perf = await stack.call('GET', `/api/v1/runs/${run.id}/artifacts/performance.json`, undefined, apiKey);

    expect(res.body.artifacts).toEqual({ performance_metrics_url: null, log_url: null, network_requests_url: null });
    expect(res.body.platform).toBeNull();
    expect(res.body.summary.text).toBe('no actions recorded yet');
    expect([log.status, perf.status]).toEqual([404, 404]);
  });

  test("when the run is another account's, then it and its artifacts are 404", async () => {
    const owner = await stack.newAccount();
    const stranger = await stack.newAccount();
    const run = await finishedWebRun(owner.accountId);

    const statuses = await Promise.all(
      ['', '/artifacts/log.jsonl', '/artifacts/network.jsonl', '/artifacts/performance.json'].map(
        async (suffix) => (await stack.call('GET', `/api/v1/runs/${run.id}${suffix}`, undefined, stranger.apiKey)).status,
      ),
    );
    const cancel = await stack.call('POST', `/api/v1/runs/${run.id}/cancel`, undefined, stranger.apiKey);

    expect(statuses).toEqual([404, 404, 404, 404]);
    expect(cancel.status).toBe(404);
  });
});
