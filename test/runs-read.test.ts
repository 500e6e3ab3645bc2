/**
 * Seed 000 run status, run results and artifacts, seed 004 run detail, cancellation and the
 * reconciliation with Temporal. Projection rows are written through the entities where a test
 * pins what the read side makes of them; the engine runs real flows where the Temporal side matters.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { AppEntity, BatchEntity, FlowEntity, RunEntity, RunLogEntity, RunRequestEntity, StepRunEntity } from '../db/entities';
import type { Batch, Run, StepRun } from '../db/entities';
import type { RunStatus } from '../domain/statuses';
import { RunReconciler } from '../apps/gateway/runs/reconcile';
import * as reads from '../apps/gateway/surfaces/ci-batches/use-cases';
import { eventually, startStack, type Stack } from './harness';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: true });
});
afterAll(async () => {
  await stack?.stop();
});

const T0 = Date.parse('2026-04-21T09:00:00Z');
const at = (ms: number): Date => new Date(T0 + ms);

async function insertBatch(accountId: string, over: Partial<Batch> = {}): Promise<Batch> {
  const batch: Partial<Batch> = {
    id: randomUUID(),
    accountId,
    source: 'ci',
    actor: { id: 'key-1', name: 'ci key', type: 'user' },
    appId: null,
    buildId: null,
    browser: null,
    variables: {},
    tags: [],
    maxParallel: 10,
    ...over,
  };
  await stack.dataSource.getRepository(BatchEntity).insert(batch);
  return batch as Batch;
}

async function insertRun(accountId: string, over: Partial<Run> = {}): Promise<Run> {
  const status: RunStatus = over.status ?? 'succeeded';
  const id = over.id ?? randomUUID();
  const run: Partial<Run> = {
    id,
    publicId: id,
    accountId,
    batchId: null,
    position: 0,
    flowId: 'daily-sales-report',
    flowVersion: 1,
    flowName: 'Daily Sales Report',
    flowType: 'automation',
    status,
    source: 'ci',
    actor: { id: 'key-1', name: 'ci key', type: 'user' },
    browser: null,
    variables: {},
    tags: [],
    external: false,
    workflowId: `run-${id}`,
    ...over,
  };
  await stack.dataSource.getRepository(RunEntity).insert(run);
  return run as Run;
}

async function insertSteps(runId: string, steps: Partial<StepRun>[]): Promise<void> {
  await stack.dataSource.getRepository(StepRunEntity).insert(
    steps.map((s, i) => ({ runId, stepId: `s${i}`, position: i, name: `Step ${i}`, type: 'http', status: 'succeeded' as const, attempts: 1, ...s })),
  );
}

const readRun = (id: string) => stack.dataSource.getRepository(RunEntity).findOneByOrFail({ id });


describe('GET /api/v1/runs/status', () => {
  test('when a batch has finished runs, then they are listed by position with the batch status derived from them', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const batch = await insertBatch(accountId);
    const second = await insertRun(accountId, {
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
    const first = await insertRun(accountId, { batchId: batch.id, position: 0, startedAt: at(0), finishedAt: at(2340), durationMs: 2340 });

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
        },
      ],
    });
  });

  test('when a run is still open, then the batch is not complete', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const batch = await insertBatch(accountId);
    await insertRun(accountId, { batchId: batch.id, position: 0 });
    await insertRun(accountId, { batchId: batch.id, position: 1, status: 'queued' });

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
    const batch = await insertBatch(owner.accountId);

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
    const batch = await insertBatch(accountId, { appId, browser: 'chrome' });
    const run = await insertRun(accountId, {
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
    await insertSteps(run.id, [
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
    const run = await insertRun(accountId, { status: 'queued', external: true });

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

describe('GET /api/v1/flows/:flowId/runs/:runId', () => {
  test('when a run of the flow is read, then its steps come in seed 004 shape with the error naming the step', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    await stack.dataSource.getRepository(FlowEntity).insert({
      accountId,
      id: 'daily-sales-report',
      name: 'Daily Sales Report',
      type: 'automation',
      version: 1,
      definition: { id: 'daily-sales-report', name: 'Daily Sales Report', type: 'automation', variables: {}, configs: {}, steps: [] },
    });
    const run = await insertRun(accountId, {
      status: 'failed',
      source: 'schedule',
      startedAt: at(0),
      finishedAt: at(1200),
      durationMs: 1200,
      error: { step: 'Send Slack Message', message: 'channel_not_found' },
    });
    await insertSteps(run.id, [
      { name: 'Query Database', durationMs: 450, output: { rowCount: 24 } },
      { name: 'Send Slack Message', status: 'failed', durationMs: 700, error: 'channel_not_found' },
    ]);

    const res = await stack.call('GET', `/api/v1/flows/daily-sales-report/runs/${run.id}`, undefined, apiKey);
    const wrongFlow = await stack.call('GET', `/api/v1/flows/other-flow/runs/${run.id}`, undefined, apiKey);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: run.id,
      flowId: 'daily-sales-report',
      status: 'FAILED',
      duration: 1200,
      triggerType: 'SCHEDULE',
      startTime: at(0).toISOString(),
      finishTime: at(1200).toISOString(),
      steps: [
        { name: 'Query Database', status: 'SUCCEEDED', duration: 450, output: { rowCount: 24 } },
        { name: 'Send Slack Message', status: 'FAILED', duration: 700, output: null },
      ],
      error: { step: 'Send Slack Message', message: 'channel_not_found' },
    });
    expect(wrongFlow.status).toBe(404);
  });
});

describe('reconciliation with workflows changed from the Temporal side', () => {
  /** A workflow no worker ever picks up stays open until an operator closes it, like one stuck mid-run. */
  const startIdle = (workflowId: string) =>
    stack.client.workflow.start('flowRun', { workflowId, taskQueue: `nobody-polls-${randomUUID()}`, args: [] });

  test('when a running run is terminated in Temporal, then the API says cancelled and the rows are corrected', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const batch = await insertBatch(accountId);
    const run = await insertRun(accountId, { batchId: batch.id, status: 'running', startedAt: new Date(Date.now() - 5000) });
    await insertSteps(run.id, [{ name: 'Query' }, { name: 'Notify', status: 'running', attempts: 1 }, { name: 'Report', status: 'queued', attempts: 0 }]);
    const handle = await startIdle(`run-${run.id}`);
    await stack.dataSource.getRepository(RunEntity).update({ id: run.id }, { workflowRunId: handle.firstExecutionRunId });
    await handle.terminate('stuck on a bad host');

    const status = await stack.call('GET', `/api/v1/runs/status?batch_id=${batch.id}`, undefined, apiKey);
    const detail = await stack.call('GET', `/api/v1/runs/${run.id}`, undefined, apiKey);

    expect(status.body).toMatchObject({ status: 'cancelled', is_complete: true });
    expect(status.body.runs[0]).toMatchObject({ status: 'cancelled', error: { step: 'Notify', message: expect.stringMatching(/^terminated in Temporal by \S+: stuck on a bad host$/) } });
    expect(detail.body.actions.map((a: { status: string }) => a.status)).toEqual(['succeeded', 'cancelled', 'cancelled']);
    const row = await readRun(run.id);
    expect(row.status).toBe('cancelled');
    expect(row.finishedAt).not.toBeNull();
    expect(row.durationMs).toBeGreaterThanOrEqual(5000);
  });

  test('when a queued run never got a workflow and its batch workflow closed, then the run is cancelled', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const batch = await insertBatch(accountId);
    const run = await insertRun(accountId, { batchId: batch.id, status: 'queued' });
    const batchHandle = await startIdle(`batch-${batch.id}`);
    await batchHandle.terminate('operator gave up');

    const res = await stack.call('GET', `/api/v1/runs/status?batch_id=${batch.id}`, undefined, apiKey);

    expect(res.body.runs[0]).toMatchObject({ id: run.id, status: 'cancelled' });
    expect((await readRun(run.id)).status).toBe('cancelled');
  });

  test('when a queued run has no workflow yet and its batch still runs, then it stays queued', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const batch = await insertBatch(accountId);
    await insertRun(accountId, { batchId: batch.id, status: 'queued' });
    const batchHandle = await startIdle(`batch-${batch.id}`);

    const res = await stack.call('GET', `/api/v1/runs/status?batch_id=${batch.id}`, undefined, apiKey);
    await batchHandle.terminate('test over');

    expect(res.body).toMatchObject({ status: 'queued', is_complete: false });
  });

  test('when the workflow was reset to a new run, then the run is open again under the new workflow run id', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const run = await insertRun(accountId, { status: 'failed', workflowRunId: randomUUID(), startedAt: at(0), finishedAt: at(10), durationMs: 10 });
    const handle = await startIdle(`run-${run.id}`);

    const res = await stack.call('GET', `/api/v1/runs/${run.id}`, undefined, apiKey);
    await handle.terminate('test over');

    expect(res.body).toMatchObject({ status: 'running', finished_at: null, error: null });
    expect((await readRun(run.id)).workflowRunId).toBe(handle.firstExecutionRunId);
  });

  test('when Temporal is unreachable, then reads answer from Postgres without failing', async () => {
    const { accountId } = await stack.newAccount();
    const batch = await insertBatch(accountId);
    const run = await insertRun(accountId, { batchId: batch.id, status: 'running', startedAt: at(0) });
    const connection = Connection.lazy({ address: '127.0.0.1:1' });
    const deps = { config: stack.config, dataSource: stack.dataSource, reconciler: new RunReconciler({ dataSource: stack.dataSource, client: new Client({ connection }) }, { timeoutMs: 300 }) };
    try {
      const status = await reads.batchStatus(deps, accountId, batch.id);
      const detail = await reads.runDetail(deps, accountId, run.id, 'http://gateway');

      expect(status.runs[0]).toMatchObject({ id: run.id, status: 'running' });
      expect(detail.status).toBe('running');
    } finally {
      await connection.close().catch(() => undefined);
    }
  });
});

describe('cancellation', () => {
  test('when a run already finished, then cancelling it is 409', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const run = await insertRun(accountId, { status: 'succeeded' });

    const res = await stack.call('POST', `/api/v1/runs/${run.id}/cancel`, undefined, apiKey);

    expect(res.status).toBe(409);
  });

  test('when every run of a batch finished, then cancelling the batch is 409', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const batch = await insertBatch(accountId);
    await insertRun(accountId, { batchId: batch.id, status: 'failed' });

    const res = await stack.call('POST', `/api/v1/batches/${batch.id}/cancel`, undefined, apiKey);
    const theirs = await stack.call('POST', `/api/v1/batches/${batch.id}/cancel`, undefined, (await stack.newAccount()).apiKey);

    expect(res.status).toBe(409);
    expect(theirs.status).toBe(404);
  });
});

describe('reconciliation with the real engine', () => {
  async function webAppAndFlow(apiKey: string, steps: unknown[]): Promise<{ appId: string; flowId: string }> {
    const app = await stack.call('POST', '/api/v1/apps', { name: 'Shop', platform: 'web', baseUrl: 'https://shop.example' }, apiKey);
    const flow = await stack.call('POST', '/api/v1/flows', { name: 'Slow flow', steps }, apiKey);
    expect([app.status, flow.status]).toEqual([201, 201]);
    return { appId: app.body.id, flowId: flow.body.id };
  }

  async function trigger(apiKey: string, appId: string, flowId: string): Promise<{ batchId: string; runId: string }> {
    const res = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: [flowId], source: 'ci' }, apiKey);
    expect(res.status).toBe(200);
    const status = await stack.call('GET', `/api/v1/runs/status?batch_id=${res.body.batch_id}`, undefined, apiKey);
    return { batchId: res.body.batch_id, runId: status.body.runs[0].id };
  }

  const slowSteps = [
    { id: 'prepare', type: 'transform', config: { expression: "'ready'" } },
    { id: 'wait', name: 'Wait a while', type: 'delay', config: { durationMs: 600_000 } },
  ];

  test('when a run waits on a timer, then its detail shows the live step states', async () => {
    const { apiKey } = await stack.newAccount();
    const { appId, flowId } = await webAppAndFlow(apiKey, slowSteps);
    const { runId } = await trigger(apiKey, appId, flowId);

    const res = await eventually(
      () => stack.call('GET', `/api/v1/runs/${runId}`, undefined, apiKey),
      (r) => r.body.actions?.find((a: { step_id: string }) => a.step_id === 'wait')?.status === 'running',
    );
    await stack.client.workflow.getHandle(`run-${runId}`).terminate('test over');

    expect(res.body.status).toBe('running');
    expect(res.body.platform).toBe('web');
    expect(res.body.actions.map((a: { step_id: string; status: string }) => [a.step_id, a.status])).toEqual([
      ['prepare', 'succeeded'],
      ['wait', 'running'],
    ]);
  });

  test('when a run is terminated in Temporal, then the API says cancelled within seconds', async () => {
    const { apiKey } = await stack.newAccount();
    const { appId, flowId } = await webAppAndFlow(apiKey, slowSteps);
    const { batchId, runId } = await trigger(apiKey, appId, flowId);
    await eventually(
      () => stack.call('GET', `/api/v1/runs/${runId}`, undefined, apiKey),
      (r) => r.body.status === 'running',
    );

    await stack.client.workflow.getHandle(`run-${runId}`).terminate('operator stopped it');
    const res = await eventually(
      () => stack.call('GET', `/api/v1/runs/${runId}`, undefined, apiKey),
      (r) => r.body.status === 'cancelled',
      10_000,
    );

    expect(res.body.status).toBe('cancelled');
    expect(res.body.error.message).toMatch(/^terminated in Temporal by \S+: operator stopped it$/);
    expect(res.body.actions.find((a: { step_id: string }) => a.step_id === 'wait').status).toBe('cancelled');
    const flowView = await stack.call('GET', `/api/v1/flows/${flowId}/runs/${runId}`, undefined, apiKey);
    expect(flowView.body.status).toBe('CANCELLED');
    const batch = await eventually(
      () => stack.call('GET', `/api/v1/runs/status?batch_id=${batchId}`, undefined, apiKey),
      (r) => r.body.is_complete === true,
      10_000,
    );
    expect(batch.body.runs[0].status).toBe('cancelled');
  });

  test('when a run is cancelled through the API, then it is 202 and the run ends cancelled', async () => {
    const { apiKey } = await stack.newAccount();
    const { appId, flowId } = await webAppAndFlow(apiKey, slowSteps);
    const { runId } = await trigger(apiKey, appId, flowId);
    await eventually(
      () => stack.call('GET', `/api/v1/runs/${runId}`, undefined, apiKey),
      (r) => r.body.status === 'running',
    );

    const cancel = await stack.call('POST', `/api/v1/runs/${runId}/cancel`, undefined, apiKey);
    const res = await eventually(
      () => stack.call('GET', `/api/v1/runs/${runId}`, undefined, apiKey),
      (r) => r.body.status === 'cancelled',
    );
    const again = await stack.call('POST', `/api/v1/runs/${runId}/cancel`, undefined, apiKey);

    expect(cancel.status).toBe(202);
    expect(cancel.body).toEqual({ id: runId, status: 'cancelling' });
    expect(res.body.status).toBe('cancelled');
    expect(again.status).toBe(409);
  });

  test('when a batch is cancelled through the API, then every run of it ends cancelled', async () => {
    const { apiKey } = await stack.newAccount();
    const { appId, flowId } = await webAppAndFlow(apiKey, slowSteps);
    const { batchId } = await trigger(apiKey, appId, flowId);

    const cancel = await stack.call('POST', `/api/v1/batches/${batchId}/cancel`, undefined, apiKey);
    const res = await eventually(
      () => stack.call('GET', `/api/v1/runs/status?batch_id=${batchId}`, undefined, apiKey),
      (r) => r.body.is_complete === true,
    );

    expect(cancel.status).toBe(202);
    expect(cancel.body).toEqual({ id: batchId, status: 'cancelling' });
    expect(res.body).toMatchObject({ status: 'cancelled', is_complete: true });
  });
});
