/**
 * The per-flow runs contract's runs of a flow: keyset paging, limits, the status filter and the stats, over
 * projection rows written straight through the entities in an account of each test's own.
 */
import { randomUUID } from 'node:crypto';
import { FlowEntity, RunEntity, StepRunEntity } from '../db/entities';
import type { Run } from '../db/entities';
import type { RunStatus, StepStatus } from '../domain/statuses';
import { withStack } from './harness';

const stack = withStack();

async function newFlow(accountId: string, opts: { deleted?: boolean } = {}): Promise<string> {
  const id = `flow-${randomUUID().slice(0, 8)}`;
  await stack.dataSource.getRepository(FlowEntity).insert({
    accountId,
    id,
    name: `Flow ${id}`,
    type: 'automation',
    version: 1,
    definition: { id, name: `Flow ${id}`, type: 'automation', variables: {}, configs: {}, steps: [] },
    deletedAt: opts.deleted ? new Date() : null,
  });
  return id;
}

let clock = Date.parse('2026-04-01T09:00:00Z');
/** Distinct, increasing creation times, as runs triggered one after another get. */
const nextCreatedAt = (): Date => new Date((clock += 1000));

async function insertRun(
  accountId: string,
  flowId: string,
  over: Partial<Run> & { steps?: StepStatus[] } = {},
): Promise<Run> {
  const { steps = [], ...fields } = over;
  const status: RunStatus = fields.status ?? 'succeeded';
  const createdAt = fields.createdAt ?? nextCreatedAt();
  const finished = !['queued', 'running', 'waiting'].includes(status);
  const durationMs = fields.durationMs !== undefined ? fields.durationMs : finished ? 1000 : null;
  const id = randomUUID();
  const run: Partial<Run> = {
    id,
    publicId: id,
    accountId,
    batchId: null,
    position: 0,
    flowId,
    flowVersion: 1,
    flowName: `Flow ${flowId}`,
    flowType: 'automation',
    status,
    source: 'schedule',
    actor: null,
    variables: {},
    tags: [],
    external: true,
    createdAt,
    startedAt: status === 'queued' ? null : createdAt,
    finishedAt: finished && durationMs !== null ? new Date(createdAt.getTime() + durationMs) : null,
    durationMs,
    ...fields,
  };
  await stack.dataSource.getRepository(RunEntity).insert(run);
  if (steps.length)
    await stack.dataSource.getRepository(StepRunEntity).insert(
      steps.map((s, i) => ({ runId: run.id!, stepId: `s${i}`, position: i, name: `Step ${i}`, type: 'http', status: s, attempts: 1 })),
    );
  return run as Run;
}

async function pageAll(key: string, flowId: string, limit: number, between?: () => Promise<void>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 100; guard++) {
    const q: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await stack.call('GET', `/api/v1/flows/${flowId}/runs?${q}`, undefined, key);
    expect(res.status).toBe(200);
    ids.push(...res.body.data.map((r: { id: string }) => r.id));
    if (!res.body.hasMore) {
      expect(res.body.cursor).toBeNull();
      return ids;
    }
    cursor = res.body.cursor;
    await between?.();
  }
  throw new Error('paging did not end');
}

describe('GET /api/v1/flows/:flowId/runs', () => {
  test('when runs are inserted between page fetches, then every older run is seen exactly once, newest first', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId);
    const original: Run[] = [];
    for (let i = 0; i < 23; i++) original.push(await insertRun(accountId, flowId));

    const seen = await pageAll(apiKey, flowId, 5, async () => {
      await insertRun(accountId, flowId, { createdAt: new Date() });
    });

    const expected = [...original].reverse().map((r) => r.id);
    expect(seen).toEqual(expected);
  });

  test('when runs share a creation time, then the id breaks the tie and no run is skipped or repeated', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId);
    const createdAt = nextCreatedAt();
    const runs: Run[] = [];
    for (let i = 0; i < 7; i++) runs.push(await insertRun(accountId, flowId, { createdAt }));

    const seen = await pageAll(apiKey, flowId, 2);

    expect(seen).toEqual(runs.map((r) => r.id).sort().reverse());
  });

  test('when no limit is given, then 10 runs come back with a cursor to the rest', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId);
    for (let i = 0; i < 12; i++) await insertRun(accountId, flowId);

    const res = await stack.call('GET', `/api/v1/flows/${flowId}/runs`, undefined, apiKey);

    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(10);
    expect(res.body.hasMore).toBe(true);
    expect(typeof res.body.cursor).toBe('string');
  });

  test.each(['0', '101', 'abc', '2.5'])('when limit is %s, then 400 names query.limit', async (limit) => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId);

    const res = await stack.call('GET', `/api/v1/flows/${flowId}/runs?limit=${limit}`, undefined, apiKey);

    expect(res.status).toBe(400);
    expect(res.body.detail[0].loc).toEqual(['query', 'limit']);
  });

  test('when limit is 100, then up to 100 runs come back', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId);
    for (let i = 0; i < 3; i++) await insertRun(accountId, flowId);

    const res = await stack.call('GET', `/api/v1/flows/${flowId}/runs?limit=100`, undefined, apiKey);

    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(3);
    expect(res.body).toMatchObject({ hasMore: false, cursor: null });
  });

  test('when the cursor is not one this endpoint returned, then 400 names query.cursor', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId);

    const res = await stack.call('GET', `/api/v1/flows/${flowId}/runs?cursor=not-a-cursor`, undefined, apiKey);

    expect(res.status).toBe(400);
    expect(res.body.detail[0].loc).toEqual(['query', 'cursor']);
  });

  test('when filtered by status in any case, then only runs of that status come back, spelled in upper case', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId);
    await insertRun(accountId, flowId, { status: 'succeeded' });
    const failed = await insertRun(accountId, flowId, { status: 'failed', error: { step: 'Step 1', message: 'boom' } });
    await insertRun(accountId, flowId, { status: 'succeeded' });
    const timedOut = await insertRun(accountId, flowId, { status: 'timed_out' });

    const byFailed = await stack.call('GET', `/api/v1/flows/${flowId}/runs?status=Failed`, undefined, apiKey);
    const bySucceeded = await stack.call('GET', `/api/v1/flows/${flowId}/runs?status=SUCCEEDED`, undefined, apiKey);
    const byTimedOut = await stack.call('GET', `/api/v1/flows/${flowId}/runs?status=timed_out`, undefined, apiKey);

    expect(byFailed.body.data.map((r: { id: string }) => r.id)).toEqual([failed.id]);
    expect(byFailed.body.data[0]).toMatchObject({ status: 'FAILED', error: { step: 'Step 1', message: 'boom' } });
    expect(bySucceeded.body.data).toHaveLength(2);
    expect(bySucceeded.body.data.every((r: { status: string; error?: unknown }) => r.status === 'SUCCEEDED' && r.error === undefined)).toBe(true);
    expect(byTimedOut.body.data.map((r: { id: string }) => r.id)).toEqual([timedOut.id]);
  });

  test('when the status filter is unknown, then 400 names query.status', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId);

    const res = await stack.call('GET', `/api/v1/flows/${flowId}/runs?status=DONE`, undefined, apiKey);

    expect(res.status).toBe(400);
    expect(res.body.detail[0].loc).toEqual(['query', 'status']);
    expect(res.body.error).toContain('SUCCEEDED');
  });

  test('when a run has steps, then the item carries the per-flow runs fields and its step counts', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId);
    const run = await insertRun(accountId, flowId, {
      status: 'failed',
      durationMs: 1200,
      steps: ['succeeded', 'succeeded', 'succeeded', 'failed', 'skipped'],
      error: { step: 'Send Slack Message', message: 'channel_not_found' },
    });
    const other = await insertRun(accountId, flowId, { status: 'succeeded', steps: ['succeeded', 'succeeded'] });

    const res = await stack.call('GET', `/api/v1/flows/${flowId}/runs`, undefined, apiKey);

    expect(res.body.data).toEqual([
      expect.objectContaining({ id: other.id, stepsCount: 2, stepsSucceeded: 2 }),
      {
        id: run.id,
        flowId,
        status: 'FAILED',
        duration: 1200,
        triggerType: 'SCHEDULE',
        startTime: run.startedAt!.toISOString(),
        finishTime: run.finishedAt!.toISOString(),
        flaky: false,
        stepsCount: 5,
        stepsSucceeded: 3,
        error: { step: 'Send Slack Message', message: 'channel_not_found' },
      },
    ]);
  });

  test('when the flow belongs to another account or does not exist, then 404', async () => {
    const owner = await stack.newAccount();
    const stranger = await stack.newAccount();
    const flowId = await newFlow(owner.accountId);
    await insertRun(owner.accountId, flowId);

    const theirs = await stack.call('GET', `/api/v1/flows/${flowId}/runs`, undefined, stranger.apiKey);
    const unknown = await stack.call('GET', `/api/v1/flows/no-such-flow/runs`, undefined, owner.apiKey);
    const stats = await stack.call('GET', `/api/v1/flows/${flowId}/runs/stats`, undefined, stranger.apiKey);

    expect([theirs.status, unknown.status, stats.status]).toEqual([404, 404, 404]);
  });

  test('when the flow was deleted, then its runs stay readable', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId, { deleted: true });
    const run = await insertRun(accountId, flowId);

    const res = await stack.call('GET', `/api/v1/flows/${flowId}/runs`, undefined, apiKey);

    expect(res.status).toBe(200);
    expect(res.body.data.map((r: { id: string }) => r.id)).toEqual([run.id]);
  });
});

describe('GET /api/v1/flows/:flowId/runs/stats', () => {
  test('when runs with known durations exist, then the figures and percentiles match them', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId);
    for (let i = 1; i <= 9; i++) await insertRun(accountId, flowId, { status: 'succeeded', durationMs: i * 100 });
    await insertRun(accountId, flowId, { status: 'failed', durationMs: 1000 });
    await insertRun(accountId, flowId, { status: 'running' });
    const newest = await insertRun(accountId, flowId, { status: 'queued' });

    const res = await stack.call('GET', `/api/v1/flows/${flowId}/runs/stats`, undefined, apiKey);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      totalRuns: 12,
      succeeded: 9,
      failed: 1,
      flaky: 0,
      successRate: 75,
      averageDuration: 550,
      lastRun: newest.createdAt.toISOString(),
      p50Duration: 550,
      p95Duration: 955,
    });
  });

  test('when the success rate is not round, then it has one decimal', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId);
    await insertRun(accountId, flowId, { status: 'succeeded' });
    await insertRun(accountId, flowId, { status: 'succeeded' });
    await insertRun(accountId, flowId, { status: 'failed' });

    const res = await stack.call('GET', `/api/v1/flows/${flowId}/runs/stats`, undefined, apiKey);

    expect(res.body.successRate).toBe(66.7);
  });

  test('when the flow has no runs, then every figure is 0 and lastRun is null', async () => {
    const { accountId, apiKey } = await stack.newAccount();
    const flowId = await newFlow(accountId);

    const res = await stack.call('GET', `/api/v1/flows/${flowId}/runs/stats`, undefined, apiKey);

    expect(res.body).toEqual({
      totalRuns: 0,
      succeeded: 0,
      failed: 0,
      flaky: 0,
      successRate: 0,
      averageDuration: 0,
      lastRun: null,
      p50Duration: 0,
      p95Duration: 0,
    });
  });
});
