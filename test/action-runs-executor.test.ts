/**
 * Flow-runs at /api/v1/flow-runs over the real stack: runs reported by an outside executor,
 * retagging and deleting runs the platform executes, and what a client gets wrong (422 locating
 * the field). The example requests, starting and paging are test/action-runs.test.ts.
 */
import { RunEntity, RunLogEntity } from '../db/entities';
import { eventually, withStack, type Loose } from './harness';
import { expectSeedShape, actionRunClient } from './action-runs-client';

const stack = withStack({ workers: true, stub: true });
const { account, createFlow, slowFlow, getRun, untilPhase } = actionRunClient(stack);

describe('PUT /api/v1/flow-runs/{id} by an outside executor', () => {
  const report = {
    flowId: 'nightly-etl',
    flowType: 'automation',
    args: { day: '2026-04-20' },
    phase: 'succeeded',
    startTime: '2026-04-21T09:00:00.000Z',
    endTime: '2026-04-21T09:00:05.000Z',
    actions: [
      { id: 'extract', phase: 'succeeded', startTime: '2026-04-21T09:00:00.000Z', endTime: '2026-04-21T09:00:02.000Z', name: 'Extract', output: { rows: 10 } },
      { id: 'load', phase: 'succeeded', startTime: '2026-04-21T09:00:02.000Z', endTime: '2026-04-21T09:00:05.000Z' },
    ],
    outputs: { loaded: 10 },
    logs: [
      { timestamp: '2026-04-21T09:00:01.000Z', message: 'extracting', level: 'info', action: 'extract' },
      { timestamp: '2026-04-21T09:00:04.000Z', message: 'slow load', level: 'warning', action: 'load' },
    ],
    tags: [{ key: 'env', value: 'prod' }],
  };

  test('when a finished run is reported, then the flow-run, the list, the CI-batch and per-flow runs contracts all show it', async () => {
    const { key, keyId } = await account();
    await createFlow(key, 'nightly-etl', [{ id: 'noop', type: 'transform', config: { expression: '1' } }]);

    const res = await stack.call('PUT', '/api/v1/flow-runs/etl-2026-04-20', { id: 'etl-2026-04-20', ...report }, key);

    expect(res.status).toBe(200);
    expectSeedShape(res.body);
    expect(res.body).toMatchObject({
      id: 'etl-2026-04-20',
      flowId: 'nightly-etl',
      flowType: 'automation',
      args: { day: '2026-04-20' },
      phase: 'succeeded',
      startTime: report.startTime,
      endTime: report.endTime,
      outputs: { loaded: 10 },
      tags: [{ key: 'env', value: 'prod' }],
      createdBy: keyId,
      updatedBy: keyId,
      reviewedBy: null,
      reviewedAt: null,
    });
    expect(res.body.actions).toEqual([
      { id: 'extract', phase: 'succeeded', startTime: '2026-04-21T09:00:00.000Z', endTime: '2026-04-21T09:00:02.000Z', name: 'Extract', type: 'external', output: { rows: 10 }, error: null },
      { id: 'load', phase: 'succeeded', startTime: '2026-04-21T09:00:02.000Z', endTime: '2026-04-21T09:00:05.000Z', name: 'load', type: 'external', output: null, error: null },
    ]);
    expect(res.body.logs).toEqual([
      { timestamp: '2026-04-21T09:00:01.000Z', message: 'extracting', level: 'info', action: 'extract' },
      { timestamp: '2026-04-21T09:00:04.000Z', message: 'slow load', level: 'warn', action: 'load' },
    ]);
    const row = await stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: 'etl-2026-04-20' });
    expect(row).toMatchObject({ external: true, batchId: null, status: 'succeeded', durationMs: 5000 });

    expect((await getRun(key, 'etl-2026-04-20')).body).toEqual(res.body);
    const list = await stack.call('GET', '/api/v1/flow-runs', undefined, key);
    expect(list.body.items).toEqual([res.body]);

    const seed000 = await stack.call('GET', '/api/v1/runs/etl-2026-04-20', undefined, key);
    expect(seed000.status).toBe(200);
    expect(seed000.body).toMatchObject({ id: 'etl-2026-04-20', batch_id: null, flow_id: 'nightly-etl', status: 'succeeded', duration_ms: 5000 });
    expect(seed000.body.actions.map((a: Loose) => [a.step_id, a.status])).toEqual([
      ['extract', 'succeeded'],
      ['load', 'succeeded'],
    ]);

    const seed004 = await stack.call('GET', '/api/v1/flows/nightly-etl/runs', undefined, key);
    expect(seed004.status).toBe(200);
    expect(seed004.body.data).toEqual([expect.objectContaining({ id: 'etl-2026-04-20', status: 'SUCCEEDED', duration: 5000, stepsCount: 2, stepsSucceeded: 2 })]);
  });

  test('when the same report is sent again, then nothing is duplicated; a shorter report replaces actions and logs', async () => {
    const { key } = await account();
    await stack.call('PUT', '/api/v1/flow-runs/again-1', { ...report, phase: 'running' }, key);
    const again = await stack.call('PUT', '/api/v1/flow-runs/again-1', report, key);

    expect(again.status).toBe(200);
    expect(again.body.phase).toBe('succeeded');
    expect(again.body.logs).toHaveLength(2);
    const { id: internalId } = await stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: 'again-1' });
    expect(await stack.dataSource.getRepository(RunLogEntity).countBy({ runId: internalId })).toBe(2);

    const shorter = await stack.call(
      'PUT',
      '/api/v1/flow-runs/again-1',
      { ...report, phase: 'failed', actions: [{ id: 'extract', phase: 'failed', error: 'source down' }], logs: [report.logs[0]] },
      key,
    );
    expect(shorter.body.actions.map((a: Loose) => [a.id, a.phase, a.error])).toEqual([['extract', 'failed', 'source down']]);
    expect(shorter.body.logs).toHaveLength(1);
    const seed000 = await stack.call('GET', '/api/v1/runs/again-1', undefined, key);
    expect(seed000.body.error).toEqual({ step: 'extract', message: 'source down' });
  });

  test('when the body id differs from the path, then 422; when another account uses the same id, then that is its own run', async () => {
    const { key } = await account();
    const { key: otherKey } = await account();
    await stack.call('PUT', '/api/v1/flow-runs/mine-1', report, key);

    const mismatch = await stack.call('PUT', '/api/v1/flow-runs/mine-2', { ...report, id: 'mine-3' }, key);
    const foreign = await stack.call('PUT', '/api/v1/flow-runs/mine-1', report, otherKey);

    expect(mismatch.status).toBe(422);
    expect(mismatch.body.detail[0].loc).toEqual(['body', 'id']);
    expect(foreign.status).toBe(200);
    expect((await getRun(key, 'mine-1')).body.tags).toEqual(report.tags);
    expect(await stack.dataSource.getRepository(RunEntity).countBy({ publicId: 'mine-1' })).toBe(2);
  });
});

describe('a run the platform executes', () => {
  test('when it runs, then GET shows its live action; PUT changes its tags, refuses another phase; DELETE cancels and removes it', async () => {
    const { key } = await account();
    await slowFlow(key, 'slow');
    const created = await stack.call('POST', '/api/v1/flow-runs', { id: 'slow-1', flowId: 'slow', tags: [{ key: 'a', value: '1' }] }, key);
    expect(created.status).toBe(200);

    const running = await eventually(
      () => getRun(key, 'slow-1'),
      (r) => r.body.actions?.[0]?.phase === 'running',
    );
    expect(running.body.phase).toBe('running');
    expect(running.body.actions[0]).toMatchObject({ id: 'wait', name: 'Wait', type: 'delay', phase: 'running' });

    const retag = await stack.call('PUT', '/api/v1/flow-runs/slow-1', { ...running.body, tags: [{ key: 'b', value: '2' }] }, key);
    expect(retag.status).toBe(200);
    expect(retag.body.tags).toEqual([{ key: 'b', value: '2' }]);
    expect(retag.body.phase).toBe('running');

    const phase = await stack.call('PUT', '/api/v1/flow-runs/slow-1', { flowId: 'slow', flowType: 'automation', phase: 'succeeded' }, key);
    expect(phase.status).toBe(409);
    expect(phase.body.detail[0].loc).toEqual(['body', 'phase']);
    const flow = await stack.call('PUT', '/api/v1/flow-runs/slow-1', { flowId: 'other', flowType: 'automation' }, key);
    expect(flow.status).toBe(409);

    const row = await stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: 'slow-1' });
    const del = await stack.call('DELETE', '/api/v1/flow-runs/slow-1', undefined, key);
    expect(del.status).toBe(200);
    expect(del.body).toEqual({});
    const batch = await stack.client.workflow.getHandle(`batch-${row.batchId}`).describe();
    expect(['CANCELLED', 'TERMINATED']).toContain(batch.status.name);
    expect((await getRun(key, 'slow-1')).status).toBe(404);
    expect((await stack.call('GET', '/api/v1/runs/slow-1', undefined, key)).status).toBe(404);
    expect(await stack.dataSource.query('SELECT 1 FROM batches WHERE id = $1', [row.batchId])).toEqual([]);
  });

  test('when it is cancelled in Temporal, then GET shows it cancelled', async () => {
    const { key } = await account();
    await slowFlow(key, 'slow');
    await stack.call('POST', '/api/v1/flow-runs', { id: 'slow-2', flowId: 'slow' }, key);
    await untilPhase(key, 'slow-2', ['running']);

    const { workflowId } = await stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: 'slow-2' });
    await stack.client.workflow.getHandle(workflowId!).cancel();

    const after = await untilPhase(key, 'slow-2', ['cancelled']);
    expect(after.body.phase).toBe('cancelled');
    expect(after.body.actions[0].phase).toBe('cancelled');
  });
});

describe('what a client gets wrong', () => {
  let key: string;
  beforeAll(async () => {
    ({ key } = await account());
    await stack.call('PUT', '/api/v1/flow-runs/exists-1', { flowId: 'f', flowType: 'automation' }, key);
  });

  test.each([
    ['a path id off the pattern', 'PUT', '/api/v1/flow-runs/Bad%20Id', { flowId: 'f', flowType: 'automation' }, ['path', 'id']],
    ['a body id off the pattern', 'POST', '/api/v1/flow-runs', { id: 'UPPER', flowId: 'f' }, ['body', 'id']],
    ['a flowId off the pattern', 'POST', '/api/v1/flow-runs', { flowId: 'no spaces' }, ['body', 'flowId']],
    ['no flowId on create', 'POST', '/api/v1/flow-runs', { args: {} }, ['body', 'flowId']],
    ['no flowId on upsert', 'PUT', '/api/v1/flow-runs/x-1', { flowType: 'automation' }, ['body', 'flowId']],
    ['no flowType on upsert', 'PUT', '/api/v1/flow-runs/x-1', { flowId: 'f' }, ['body', 'flowType']],
    ['an unknown flowType', 'POST', '/api/v1/flow-runs', { flowId: 'f', flowType: 'cron' }, ['body', 'flowType']],
    ['an unknown phase', 'PUT', '/api/v1/flow-runs/x-1', { flowId: 'f', flowType: 'automation', phase: 'done' }, ['body', 'phase']],
    ['a duplicate action id', 'PUT', '/api/v1/flow-runs/x-1', { flowId: 'f', flowType: 'automation', actions: [{ id: 'a', phase: 'succeeded' }, { id: 'a', phase: 'failed' }] }, ['body', 'actions', 1, 'id']],
    ['a bad path id on delete', 'DELETE', '/api/v1/flow-runs/Nope!', undefined, ['path', 'id']],
  ])('when %s is sent, then 422 locates it', async (_name, method, path, body, loc) => {
    const res = await stack.call(method, path, body, key);
    expect(res.status).toBe(422);
    expect(res.body.error).toEqual(expect.any(String));
    expect(res.body.detail).toContainEqual(expect.objectContaining({ loc, msg: expect.any(String), type: expect.any(String) }));
  });

  test('when an id is unknown or another account\'s, then 404 on GET and DELETE', async () => {
    const { key: otherKey } = await account();
    for (const [method, path, k] of [
      ['GET', '/api/v1/flow-runs/missing-1', key],
      ['DELETE', '/api/v1/flow-runs/missing-1', key],
      ['GET', '/api/v1/flow-runs/exists-1', otherKey],
      ['DELETE', '/api/v1/flow-runs/exists-1', otherKey],
    ] as const) {
      const res = await stack.call(method, path, undefined, k);
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    expect((await getRun(key, 'exists-1')).status).toBe(200);
  });

  test('when no key is sent, then 401; when a wrong method is used, then 405 with Allow', async () => {
    expect((await stack.call('GET', '/api/v1/flow-runs', undefined, null)).status).toBe(401);
    expect((await stack.call('POST', '/api/v1/flow-runs', { flowId: 'f' }, null)).status).toBe(401);
    expect((await stack.call('GET', '/api/v1/flow-runs/exists-1', undefined, null)).status).toBe(401);
    const patch = await stack.call('PATCH', '/api/v1/flow-runs/exists-1', {}, key);
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toContain('PUT');
    expect((await stack.call('DELETE', '/api/v1/flow-runs', undefined, key)).status).toBe(405);
  });
});
