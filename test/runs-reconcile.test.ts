/**
 * A flow's run detail (per-flow runs), cancellation and the reconciliation with Temporal: projection rows written
 * through the entities (test/run-rows.ts) where a test pins what the read side makes of them, the
 * engine running real flows where the Temporal side matters. Run status and results are
 * test/runs-read.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { FlowEntity, RunEntity } from '../db/entities';
import { RunReconciler } from '../apps/gateway/runs/reconcile';
import * as reads from '../apps/gateway/surfaces/ci-batches/use-cases';
import { eventually, withStack } from './harness';
import { at, insertBatch, insertRun, insertSteps, readRun } from './run-rows';

const stack = withStack({ workers: true });

describe('GET /api/v1/flows/:flowId/runs/:runId', () => {
  test('when a run of the flow is read, then its steps come in the per-flow runs shape with the error naming the step', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    await stack.dataSource.getRepository(FlowEntity).insert({
      accountId,
      id: 'daily-sales-report',
      name: 'Daily Sales Report',
      type: 'automation',
      version: 1,
      definition: { id: 'daily-sales-report', name: 'Daily Sales Report', type: 'automation', variables: {}, configs: {}, steps: [] },
    });
    const run = await insertRun(stack, accountId, {
      status: 'failed',
      source: 'schedule',
      startedAt: at(0),
      finishedAt: at(1200),
      durationMs: 1200,
      error: { step: 'Send Slack Message', message: 'channel_not_found' },
    });
    await insertSteps(stack, run.id, [
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
      flaky: false,
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
    const batch = await insertBatch(stack, accountId);
    const run = await insertRun(stack, accountId, { batchId: batch.id, status: 'running', startedAt: new Date(Date.now() - 5000) });
    await insertSteps(stack, run.id, [{ name: 'Query' }, { name: 'Notify', status: 'running', attempts: 1 }, { name: 'Report', status: 'queued', attempts: 0 }]);
    const handle = await startIdle(`run-${run.id}`);
    await stack.dataSource.getRepository(RunEntity).update({ id: run.id }, { workflowRunId: handle.firstExecutionRunId });
    await handle.terminate('stuck on a bad host');

    const status = await stack.call('GET', `/api/v1/runs/status?batch_id=${batch.id}`, undefined, apiKey);
    const detail = await stack.call('GET', `/api/v1/runs/${run.id}`, undefined, apiKey);

    expect(status.body).toMatchObject({ status: 'cancelled', is_complete: true });
    expect(status.body.runs[0]).toMatchObject({ status: 'cancelled', error: { step: 'Notify', message: expect.stringMatching(/^terminated in Temporal by \S+: stuck on a bad host$/) } });
    expect(detail.body.actions.map((a: { status: string }) => a.status)).toEqual(['succeeded', 'cancelled', 'cancelled']);
    const row = await readRun(stack, run.id);
    expect(row.status).toBe('cancelled');
    expect(row.finishedAt).not.toBeNull();
    expect(row.durationMs).toBeGreaterThanOrEqual(5000);
  });

  test('when a queued run never got a workflow and its batch workflow closed, then the run is cancelled', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const batch = await insertBatch(stack, accountId);
    const run = await insertRun(stack, accountId, { batchId: batch.id, status: 'queued' });
    const batchHandle = await startIdle(`batch-${batch.id}`);
    await batchHandle.terminate('operator gave up');

    const res = await stack.call('GET', `/api/v1/runs/status?batch_id=${batch.id}`, undefined, apiKey);

    expect(res.body.runs[0]).toMatchObject({ id: run.id, status: 'cancelled' });
    expect((await readRun(stack, run.id)).status).toBe('cancelled');
  });

  test('when a queued run has no workflow yet and its batch still runs, then it stays queued', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const batch = await insertBatch(stack, accountId);
    await insertRun(stack, accountId, { batchId: batch.id, status: 'queued' });
    const batchHandle = await startIdle(`batch-${batch.id}`);

    const res = await stack.call('GET', `/api/v1/runs/status?batch_id=${batch.id}`, undefined, apiKey);
    await batchHandle.terminate('test over');

    expect(res.body).toMatchObject({ status: 'queued', is_complete: false });
  });

  test('when the workflow was reset to a new run, then the run is open again under the new workflow run id', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const run = await insertRun(stack, accountId, { status: 'failed', workflowRunId: randomUUID(), startedAt: at(0), finishedAt: at(10), durationMs: 10 });
    const handle = await startIdle(`run-${run.id}`);

    const res = await stack.call('GET', `/api/v1/runs/${run.id}`, undefined, apiKey);
    await handle.terminate('test over');

    expect(res.body).toMatchObject({ status: 'running', finished_at: null, error: null });
    expect((await readRun(stack, run.id)).workflowRunId).toBe(handle.firstExecutionRunId);
  });

  test('when Temporal is unreachable, then reads answer from Postgres without failing', async () => {
    const { accountId } = await stack.newAccount();
    const batch = await insertBatch(stack, accountId);
    const run = await insertRun(stack, accountId, { batchId: batch.id, status: 'running', startedAt: at(0) });
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
    const run = await insertRun(stack, accountId, { status: 'succeeded' });

    const res = await stack.call('POST', `/api/v1/runs/${run.id}/cancel`, undefined, apiKey);

    expect(res.status).toBe(409);
  });

  test('when every run of a batch finished, then cancelling the batch is 409', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const batch = await insertBatch(stack, accountId);
    await insertRun(stack, accountId, { batchId: batch.id, status: 'failed' });

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
