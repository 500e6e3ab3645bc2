/**
 * Large batches, on a stack whose thresholds are small (a batch of more than 5 runs runs from a
 * plan, in chunks of 4), so the path a 10,000-run batch takes is exercised in seconds: a matrix of
 * variables multiplies the flows, the runs load their definitions by reference, and cancelling
 * reaches runs in chunks not started yet. test/faults/large-batch.test.ts runs 10,000 for real.
 */
import { decodeArrayFromPayloads, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { dataConverterFor } from '../platform/payload-codec';
import { RunEntity } from '../db/entities';
import { batchWorkflowId, runWorkflowId } from '../workflows/definitions';
import { eventually, withStack } from './harness';

const stack = withStack({ env: { FLOWRUNS_BATCH_INLINE_RUNS: '5', FLOWRUNS_BATCH_CHUNK_RUNS: '4' }, workers: true, app: 'shop' });

beforeAll(async () => {
  for (const [id, steps] of Object.entries({
    echo: [{ id: 'echo', type: 'transform', config: { expression: '{"size": vars.SIZE, "color": vars.COLOR, "flow": "echo"}' } }],
    other: [{ id: 'echo', type: 'transform', config: { expression: '{"size": vars.SIZE, "color": vars.COLOR, "flow": "other"}' } }],
    slow: [{ id: 'wait', type: 'delay', config: { durationMs: 3000 } }],
  })) {
    const res = await stack.call('POST', '/api/v1/flows', { id, name: id, steps }, stack.key);
    expect(res.status).toBe(201);
  }
});

const status = async (batchId: string) => (await stack.call('GET', `/api/v1/runs/status?batch_id=${batchId}`, undefined, stack.key)).body;
const complete = (batchId: string, timeoutMs = 60_000) => eventually(() => status(batchId), (s) => s.is_complete === true, timeoutMs);

it('when a matrix makes more runs than a batch carries, then they run in chunks, each flow by reference, each run with its combination', async () => {
  const t = await stack.call(
    'POST',
    '/api/v1/flows/run',
    { app_id: stack.appId, flow_ids: ['echo', 'other'], matrix: { SIZE: ['s', 'm', 'l'], COLOR: ['red', 2] }, max_parallel: 3 },
    stack.key,
  );
  expect(t.status).toBe(200);
  expect(t.body.runs).toHaveLength(12);
  const batchId: string = t.body.batch_id;
  const done = await complete(batchId);
  expect(done.runs.map((r: { status: string }) => r.status)).toEqual(Array(12).fill('succeeded'));

  // Position p is flow p % 2 under combination floor(p / 2), the last matrix key varying fastest.
  const rows = await stack.dataSource.getRepository(RunEntity).find({ where: { batchId }, order: { position: 'ASC' } });
  expect(rows.map((r) => (r.outputs as { echo: unknown }).echo)).toEqual(
    ['s', 'm', 'l'].flatMap((size) => ['red', '2'].flatMap((color) => ['echo', 'other'].map((flow) => ({ size, color, flow })))),
  );

  // The batch started 3 chunks (4 runs each) and carried no run in its input; a run got its flow by reference.
  const batch = await stack.client.workflow.getHandle(batchWorkflowId(batchId)).fetchHistory();
  const chunks = batch.events!.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
  expect(chunks.map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId)).toEqual([0, 1, 2].map((i) => `batch-${batchId}-chunk-${i}`));
  const chunk = await stack.client.workflow.getHandle(`batch-${batchId}-chunk-1`).describe();
  expect(chunk.status.name).toBe('COMPLETED');
  const run = await stack.client.workflow.getHandle(runWorkflowId(rows[5]!.id)).fetchHistory();
  const payloads = run.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads;
  const [started] = await decodeArrayFromPayloads(loadDataConverter(dataConverterFor(stack.config.payloadKeys)), payloads);
  expect(started).toMatchObject({ flowRef: { id: 'other', version: 1 }, variables: { SIZE: 'm', COLOR: 'red' } });
  expect(started).not.toHaveProperty('flow');
});

it('when a matrix would make more than 10,000 runs, then 400 names body.matrix and nothing is started', async () => {
  const values = Array.from({ length: 5001 }, (_, i) => i);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: ['echo', 'other'], matrix: { I: values } }, stack.key);
  expect(t.status).toBe(400);
  expect(JSON.stringify(t.body)).toContain('matrix');
  expect(JSON.stringify(t.body)).toContain('10000');
});

it('when a large batch is cancelled in its first chunk, then every run ends, the ones never reached cancelled', async () => {
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: ['slow'], matrix: { I: Array.from({ length: 10 }, (_, i) => i) }, max_parallel: 2 }, stack.key);
  expect(t.status).toBe(200);
  const batchId: string = t.body.batch_id;
  await eventually(() => status(batchId), (s) => s.runs.some((r: { status: string }) => r.status === 'running'), 30_000);
  const cancel = await stack.call('POST', `/api/v1/batches/${batchId}/cancel`, undefined, stack.key);
  expect(cancel.status).toBe(202);
  const done = await complete(batchId);
  const statuses: string[] = done.runs.map((r: { status: string }) => r.status);
  expect(statuses.every((s) => s === 'cancelled')).toBe(true);
  const queued = await stack.dataSource.getRepository(RunEntity).count({ where: { batchId, status: 'queued' } });
  expect(queued).toBe(0);
});

it('when one run of a later chunk is cancelled before it starts, then it never runs and the others pass', async () => {
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: ['slow'], matrix: { I: Array.from({ length: 6 }, (_, i) => i) }, max_parallel: 4 }, stack.key);
  const batchId: string = t.body.batch_id;
  const last: string = t.body.runs[5].id;
  const cancel = await stack.call('POST', `/api/v1/runs/${last}/cancel`, undefined, stack.key);
  expect(cancel.status).toBe(202);
  const done = await complete(batchId);
  expect(done.runs.map((r: { status: string }) => r.status)).toEqual([...Array(5).fill('succeeded'), 'cancelled']);
  const row = await stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: last });
  expect(row.startedAt).toBeNull();
});

it('when a run of a large batch is rerun, then the new run has its flow and its combination', async () => {
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: ['echo'], matrix: { SIZE: ['a', 'b', 'c', 'd', 'e', 'f'], COLOR: ['x'] } }, stack.key);
  await complete(t.body.batch_id);
  const rerun = await stack.call('POST', `/api/v1/runs/${t.body.runs[4].id}/rerun`, undefined, stack.key);
  expect(rerun.status).toBe(202);
  const batch = await complete(rerun.body.batch_id);
  expect(batch.runs[0].status).toBe('succeeded');
  const row = await stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: rerun.body.runs[0].id });
  expect(row.outputs).toEqual({ echo: { size: 'e', color: 'x', flow: 'echo' } });
});

it('when a trigger names more flows than their ids fit in a search attribute, then it starts, its FlowId holding as many whole ids as fit', async () => {
  const ids = Array.from({ length: 60 }, (_, i) => `flow-with-a-rather-long-identifier-number-${String(i).padStart(4, '0')}-${'x'.repeat(10)}`);
  for (const id of ids)
    expect((await stack.call('POST', '/api/v1/flows', { id, name: id, steps: [{ id: 'one', type: 'transform', config: { expression: '1' } }] }, stack.key)).status).toBe(201);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: ids, max_parallel: 20 }, stack.key);
  expect(t.status).toBe(200);
  const done = await complete(t.body.batch_id);
  expect(done.runs.every((r: { status: string }) => r.status === 'succeeded')).toBe(true);
  const attrs = (await stack.client.workflow.getHandle(batchWorkflowId(t.body.batch_id)).describe()).typedSearchAttributes;
  const flowIds = attrs.get({ name: 'FlowId', type: 'KEYWORD' }) as string;
  expect(Buffer.byteLength(flowIds)).toBeLessThanOrEqual(2048);
  expect(flowIds.split(',')).toEqual(ids.slice(0, flowIds.split(',').length));
  expect(flowIds.split(',').length).toBeGreaterThan(20);
});
