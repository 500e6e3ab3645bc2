/**
 * A 10,000-run batch — one trivial flow over a 10,000-value matrix, in one trigger — completes, and no
 * workflow history of it comes near Temporal's limits: the batch workflow, every workflow under
 * it whose id starts with `batch-<id>` (whatever tree or continue-as-new chain spreads the runs)
 * and every run has fewer than 10,000 events.
 */
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { withStack } from '../harness';
import { pool, runStatuses, sleep } from './support';

const RUNS = 10_000;
const MAX_EVENTS = 10_000;

const stack = withStack({ workers: true, app: 'large' });

beforeAll(async () => {
  const flow = { id: 'tiny', name: 'tiny', steps: [{ id: 'one', type: 'transform', config: { expression: '1 + 1' } }] };
  expect((await stack.call('POST', '/api/v1/flows', flow, stack.key)).status).toBe(201);
}, 120_000);


async function listAll(query: string): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  for await (const w of stack.client.workflow.list({ query, pageSize: 1000 })) found.push(w);
  return found;
}

it('when one trigger asks for 10,000 runs, then all 10,000 succeed and every workflow history of the batch stays under 10,000 events', async () => {
  const started = Date.now();
  // One flow times a 10,000-value matrix (the trigger takes each flow id once; a matrix repeats them).
  const matrix = { I: Array.from({ length: RUNS }, (_, i) => i) };
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: ['tiny'], matrix, max_parallel: 100 }, stack.key);
  expect({ status: t.status, error: t.status === 200 ? undefined : t.body }).toEqual({ status: 200, error: undefined });
  const batchId: string = t.body.batch_id;

  // Until every run ended, or nothing moved for 3 minutes (a stuck batch fails here, not at the 30-minute timeout).
  let counts: Record<string, number> = {};
  for (let ended = -1, movedAt = Date.now(); ; await sleep(1000)) {
    counts = await runStatuses(stack.dataSource, batchId);
    const now = ['succeeded', 'failed', 'cancelled', 'timed_out'].reduce((sum, s) => sum + (counts[s] ?? 0), 0);
    if (now !== ended) [ended, movedAt] = [now, Date.now()];
    if (ended >= RUNS || Date.now() - movedAt > 180_000 || Date.now() - started > 25 * 60_000) break;
  }
  expect(counts).toEqual({ succeeded: RUNS });
  await stack.client.workflow.getHandle(`batch-${batchId}`).result();
  const status = await stack.call('GET', `/api/v1/runs/status?batch_id=${batchId}`, undefined, stack.key);
  expect(status.body).toMatchObject({ is_complete: true, status: 'succeeded' });
  const ran = Date.now() - started;

  // Every execution of the batch, from visibility (which lags a little behind the histories).
  const query = `BatchId = '${batchId}' OR WorkflowId STARTS_WITH 'batch-${batchId}'`;
  let executions: WorkflowExecutionInfo[] = [];
  for (const deadline = Date.now() + 120_000; ; await sleep(1000)) {
    executions = await listAll(query);
    const runs = executions.filter((w) => w.workflowId.startsWith('run-'));
    if ((runs.length >= RUNS && executions.every((w) => w.status.name !== 'RUNNING')) || Date.now() > deadline) break;
  }
  const batchLevel = executions.filter((w) => w.workflowId.startsWith(`batch-${batchId}`));
  const runLevel = executions.filter((w) => w.workflowId.startsWith('run-'));
  expect(runLevel).toHaveLength(RUNS);
  expect(batchLevel.length).toBeGreaterThanOrEqual(1);

  // The batch's own workflows, each run of each (a continue-as-new chain included), read one by one.
  const described = await pool(batchLevel, 10, async (w) => {
    const d = await stack.client.workflow.getHandle(w.workflowId, w.runId).describe();
    return { id: w.workflowId, runId: w.runId, status: d.status.name, events: d.historyLength };
  });
  const overLimit = described.filter((d) => d.events >= MAX_EVENTS);
  expect(overLimit).toEqual([]);
  expect(described.filter((d) => !['COMPLETED', 'CONTINUED_AS_NEW'].includes(d.status))).toEqual([]);
  const runsOverLimit = runLevel.filter((w) => w.historyLength >= MAX_EVENTS).map((w) => w.workflowId);
  expect(runsOverLimit).toEqual([]);

  const longest = Math.max(...described.map((d) => d.events));
  console.log(
    `[faults] large batch: ${counts.succeeded}/${RUNS} runs succeeded in ${Math.round(ran / 1000)}s; ${described.length} batch-level executions ` +
      `(longest history ${longest} events, limit ${MAX_EVENTS}); ${runLevel.length} run workflows (longest ${Math.max(...runLevel.map((w) => w.historyLength))} events); ` +
      `${Math.round((Date.now() - started) / 1000)}s`,
  );
}, 30 * 60_000);
