/**
 * A run's start and end recorded by its steps' activities (workflows/flow-run.ts): what a reader sees is the same as when the workflow recorded them with
 * local activities of its own, and the local activities are left for the ends no step can record
 * (a failure, a skipped last step). Real gateway, worker, Temporal and Postgres; steps call a local stub.
 */
import { Projections } from '../db/projections';
import { runWorkflowId } from '../workflows/definitions';
import { runDetailWhenEnded, withStack, type Loose } from './harness';

const stack = withStack({
  workers: true,
  stub: (req) => (req.url.startsWith('/orders') ? { body: [{ id: 1 }, { id: 2 }] } : req.url.startsWith('/fail') ? { status: 500, body: {} } : { body: { ok: true } }),
  app: 'records',
});

let seq = 0;
async function runFlow(steps: unknown[]): Promise<{ runId: string; detail: Loose }> {
  const id = `records-${Date.now().toString(36)}-${seq++}`;
  const created = await stack.call('POST', '/api/v1/flows', { id, name: id, variables: { U: stack.stub.url }, steps }, stack.key);
  expect(created.status).toBe(201);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, source: 'ci', flow_ids: [id] }, stack.key);
  expect(t.status).toBe(200);
  const runId: string = t.body.runs[0].id;
  return { runId, detail: await runDetailWhenEnded(stack, runId, stack.key, 45_000) };
}

/** The run workflow's local activities (markers) and its activities, by type, from its history. */
async function historyOf(runId: string): Promise<{ localActivities: number; activities: string[] }> {
  const history = await stack.client.workflow.getHandle(runWorkflowId(runId)).fetchHistory();
  const events = history.events ?? [];
  return {
    localActivities: events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
    activities: events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? '?'] : [])),
  };
}

async function logsOf(runId: string): Promise<string[]> {
  const rows: { key: string }[] = await stack.dataSource.query(`SELECT key FROM run_logs WHERE run_id = $1 ORDER BY seq`, [runId]);
  return rows.map((r) => r.key);
}

async function requestsOf(runId: string): Promise<{ step_id: string; method: string; status: number }[]> {
  return stack.dataSource.query(`SELECT step_id, method, status FROM run_requests WHERE run_id = $1 ORDER BY step_id, attempt, seq`, [runId]);
}

const http = (id: string, path: string, extra: Record<string, unknown> = {}) => ({ id, type: 'http', config: { url: `\${env:U}${path}` }, retry: { maxAttempts: 1 }, ...extra });

describe('a run recorded by its steps', () => {
  it('when GET → transform → POST succeeds, then its start and end are recorded by the first and last steps, with no local activity but the transform, and read as before', async () => {
    const { runId, detail } = await runFlow([
      http('orders', '/orders'),
      { id: 'count', type: 'transform', config: { expression: '$count(steps.orders.output.body)' } },
      http('post', '/post', { config: { url: '${env:U}/post', method: 'POST', body: { n: '{{ steps.count.output }}' } } }),
    ]);
    expect(detail.status).toBe('succeeded');
    expect(detail.actions.map((a: Loose) => [a.step_id, a.status])).toEqual([
      ['orders', 'succeeded'],
      ['count', 'succeeded'],
      ['post', 'succeeded'],
    ]);
    const [row] = await stack.dataSource.query(`SELECT status, started_at, finished_at, duration_ms, outputs, workflow_run_id FROM runs WHERE id = $1`, [runId]);
    expect(row.status).toBe('succeeded');
    expect(row.outputs).toMatchObject({ count: 2 });
    expect(row.started_at).not.toBeNull();
    expect(row.finished_at.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    expect(row.duration_ms).toBe(row.finished_at.getTime() - row.started_at.getTime());
    expect(row.workflow_run_id).toBeTruthy();
    const logs = await logsOf(runId);
    expect(logs[0]).toBe('run.started');
    expect(logs).toContain('run.finished');
    expect(logs).toContain('batch.finished');
    // The transform is a local activity (workflows/run-step.ts); no record is written by one.
    expect(await historyOf(runId)).toEqual({ localActivities: 1, activities: ['executeStep', 'executeStep'] });
    // Each http step's request, written with the step's end.
    expect(await requestsOf(runId)).toEqual([
      { step_id: 'orders', method: 'GET', status: 200 },
      { step_id: 'post', method: 'POST', status: 200 },
    ]);
  });

  it('when the last step fails, then the start went with the first step and the end is recorded by the workflow, naming the step', async () => {
    const { runId, detail } = await runFlow([http('orders', '/orders'), http('broken', '/fail')]);
    expect(detail.status).toBe('failed');
    expect(detail.error).toMatchObject({ step: 'broken' });
    const logs = await logsOf(runId);
    expect(logs.filter((k) => k === 'run.started')).toHaveLength(1);
    expect(logs).toContain('run.finished');
    // The end (and the failed step's row) by the workflow: one local activity, one recordSteps activity.
    expect(await historyOf(runId)).toEqual({ localActivities: 1, activities: ['executeStep', 'executeStep', 'recordSteps'] });
    // The failed attempt's request is recorded too, without a step row of its own to go with.
    expect(await requestsOf(runId)).toEqual([
      { step_id: 'broken', method: 'GET', status: 500 },
      { step_id: 'orders', method: 'GET', status: 200 },
    ]);
  });

  it('when two roots run in parallel and the last step is skipped by its `if`, then the skipped step is recorded and the run succeeds', async () => {
    const { runId, detail } = await runFlow([
      http('a', '/a', { dependsOn: [] }),
      http('b', '/b', { dependsOn: [] }),
      http('never', '/never', { dependsOn: ['a', 'b'], if: '1 = 2' }),
    ]);
    expect(detail.status).toBe('succeeded');
    expect(Object.fromEntries(detail.actions.map((a: Loose) => [a.step_id, a.status]))).toEqual({ a: 'succeeded', b: 'succeeded', never: 'skipped' });
    expect(stack.stub.requests.some((r) => r.url.startsWith('/never'))).toBe(false);
    const logs = await logsOf(runId);
    expect(logs.filter((k) => k === 'run.started')).toHaveLength(1);
    expect(await historyOf(runId)).toEqual({ localActivities: 1, activities: ['executeStep', 'executeStep', 'executeStep'] });
  });

  it('when a delay comes first, then its preparation records the start and the last http step the end', async () => {
    const { runId, detail } = await runFlow([{ id: 'wait', type: 'delay', config: { durationMs: 10 } }, http('after', '/after', { dependsOn: ['wait'] })]);
    expect(detail.status).toBe('succeeded');
    expect(Object.fromEntries(detail.actions.map((a: Loose) => [a.step_id, a.status]))).toEqual({ wait: 'succeeded', after: 'succeeded' });
    const [wait] = await stack.dataSource.query(`SELECT status, duration_ms FROM step_runs WHERE run_id = $1 AND step_id = 'wait'`, [runId]);
    expect(wait.status).toBe('succeeded');
    expect(wait.duration_ms).toBeGreaterThanOrEqual(10);
    expect(await historyOf(runId)).toEqual({ localActivities: 0, activities: ['prepareStep', 'recordSteps', 'executeStep'] });
  });
});

describe('a step recording for its run', () => {
  it('when its attempt comes after the run has ended, then it neither reopens nor ends the run again; a reset (another workflow run) does reopen it', async () => {
    const { runId } = await runFlow([http('only', '/only')]);
    const projections = new Projections(stack.dataSource);
    const before = await stack.dataSource.query(`SELECT status, finished_at, workflow_run_id FROM runs WHERE id = $1`, [runId]);
    const ownRun: string = before[0].workflow_run_id;

    expect(await projections.runStartedWithSteps(runId, ownRun, [], true)).toBe(false);
    expect(await projections.runFinished(runId, { status: 'failed', error: { step: 'only', message: 'late' }, outputs: null, steps: [] }, ownRun)).toBe(false);
    const after = await stack.dataSource.query(`SELECT status, finished_at, error FROM runs WHERE id = $1`, [runId]);
    expect(after[0]).toEqual({ status: 'succeeded', finished_at: before[0].finished_at, error: null });

    expect(await projections.runStartedWithSteps(runId, 'another-workflow-run', [], true)).toBe(true);
    const reopened = await stack.dataSource.query(`SELECT status, workflow_run_id FROM runs WHERE id = $1`, [runId]);
    expect(reopened[0]).toEqual({ status: 'running', workflow_run_id: 'another-workflow-run' });
    // The old workflow run's late end does not touch the reopened run; the new one's does.
    expect(await projections.runFinished(runId, { status: 'succeeded', error: null, outputs: null, steps: [] }, ownRun)).toBe(false);
    expect(await projections.runFinished(runId, { status: 'succeeded', error: null, outputs: null, steps: [] }, 'another-workflow-run')).toBe(true);
  });

  it('when a held start lands after its step ended (the run open in its snapshot), then the step stays ended', async () => {
    const { runId } = await runFlow([http('only', '/only')]);
    const projections = new Projections(stack.dataSource);
    // The run open again, as a start racing its run's end sees it; the step row already ended.
    expect(await projections.runStartedWithSteps(runId, 'another-workflow-run', [], true)).toBe(true);
    const startedAt = new Date();
    await projections.stepStarted(runId, { id: 'only', position: 0, name: 'only', type: 'http', status: 'running', attempts: 1, startedAt: startedAt.toISOString() }, { key: 'step.only.started.late', level: 'info', stepId: 'only', message: 'late start', ts: startedAt });
    const [step] = await stack.dataSource.query(`SELECT status FROM step_runs WHERE run_id = $1 AND step_id = 'only'`, [runId]);
    expect(step.status).toBe('succeeded');
  });

  it('when the workflow then records another end (its timeout fired as the step ended), then its status and its run.finished line stand', async () => {
    const { runId } = await runFlow([http('only', '/only')]);
    const projections = new Projections(stack.dataSource);
    const ownRun: string = (await stack.dataSource.query(`SELECT workflow_run_id FROM runs WHERE id = $1`, [runId]))[0].workflow_run_id;
    // Reopened as a reset would, ended by a step, then ended otherwise by the workflow's own record.
    expect(await projections.runStartedWithSteps(runId, `${ownRun}-reset`, [], true)).toBe(true);
    expect(await projections.runFinished(runId, { status: 'succeeded', error: null, outputs: null, steps: [] }, `${ownRun}-reset`)).toBe(true);
    const error = { step: 'only', message: 'flow timed out after 10ms' };
    expect(await projections.runFinished(runId, { status: 'timed_out', error, outputs: null, steps: [] })).toBe(true);
    const [row] = await stack.dataSource.query(`SELECT status, error FROM runs WHERE id = $1`, [runId]);
    expect(row).toEqual({ status: 'timed_out', error });
    const lines = await stack.dataSource.query(`SELECT level, message FROM run_logs WHERE run_id = $1 AND key = 'run.finished'`, [runId]);
    expect(lines).toEqual([{ level: 'error', message: 'run timed_out: only: flow timed out after 10ms' }]);
  });
});
