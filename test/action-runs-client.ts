/**
 * Flow-runs at /api/v1/flow-runs as their client sees them: the flow-run object's shape and the
 * helpers the tests share (test/action-runs.test.ts, test/action-runs-executor.test.ts).
 */
import { ApiKeyEntity } from '../db/entities';
import { eventually, type Loose, type StackFixture } from './harness';

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The helpers that reach the stack: an account with its key's id, its flows, its runs read and awaited. */
export function actionRunClient(stack: StackFixture) {
  async function account(): Promise<{ accountId: string; key: string; keyId: string }> {
    const { accountId, apiKey } = await stack.newAccount();
    const row = await stack.dataSource.getRepository(ApiKeyEntity).findOneByOrFail({ accountId });
    return { accountId, key: apiKey, keyId: row.id };
  }

  async function createFlow(key: string, id: string, steps: unknown[], type = 'automation'): Promise<void> {
    const res = await stack.call('POST', '/api/v1/flows', { id, name: `Flow ${id}`, type, steps }, key);
    if (res.status !== 201) throw new Error(`create flow: ${res.status} ${JSON.stringify(res.body)}`);
  }

  const transformFlow = (key: string, id: string) =>
    createFlow(key, id, [{ id: 'echo', type: 'transform', config: { expression: '{ "x": trigger.body.x }' } }]);
  const slowFlow = (key: string, id: string) => createFlow(key, id, [{ id: 'wait', name: 'Wait', type: 'delay', config: { durationMs: 120_000 } }]);

  const getRun = (key: string, id: string) => stack.call('GET', `/api/v1/flow-runs/${id}`, undefined, key);
  const untilPhase = (key: string, id: string, phases: string[]) =>
    eventually(() => getRun(key, id), (r) => r.status === 200 && phases.includes(r.body.phase));

  return { account, createFlow, transformFlow, slowFlow, getRun, untilPhase };
}

/** Every field of the seed's flow-run object, typed as the seed shows it (createdBy etc. are the key ids here). */
export function expectSeedShape(run: Loose): void {
  expect(Object.keys(run).sort()).toEqual(
    [
      'id', 'flowId', 'flowType', 'args', 'phase', 'startTime', 'endTime', 'actions', 'outputs', 'logs', 'tags',
      'createdAt', 'createdBy', 'updatedAt', 'updatedBy', 'reviewedBy', 'reviewedAt',
    ].sort(),
  );
  expect(run.id).toMatch(/^[a-z0-9_.-]+$/);
  expect(run.flowId).toMatch(/^[a-z0-9_.-]+$/);
  expect(['automation', 'selfServiceAction', 'scorecard', 'reference']).toContain(run.flowType);
  expect(['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'timed_out']).toContain(run.phase);
  for (const t of [run.startTime, run.endTime, run.reviewedAt]) if (t !== null) expect(t).toMatch(ISO);
  expect(run.createdAt).toMatch(ISO);
  expect(run.updatedAt).toMatch(ISO);
  expect(Array.isArray(run.actions)).toBe(true);
  for (const a of run.actions) {
    expect(a).toEqual(expect.objectContaining({ id: expect.any(String), phase: expect.any(String) }));
    expect('startTime' in a && 'endTime' in a).toBe(true);
  }
  for (const l of run.logs) expect(Object.keys(l).sort()).toEqual(['action', 'level', 'message', 'timestamp']);
  for (const t of run.tags) expect(Object.keys(t).sort()).toEqual(['key', 'value']);
}
