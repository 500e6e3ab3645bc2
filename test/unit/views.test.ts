/**
 * The gateway's views without a gateway: how a run's rows and its workflow's live progress become
 * what a client reads (test/unit/response-schemas.test.ts checks the schemas are enforced; the
 * surfaces' whole answers are checked end to end by the stack tests).
 */
import type { Run, RunLog, StepRun } from '../../db/entities';
import type { RunProgress } from '../../domain/flow-types';
import type { LiveRun } from '../../apps/gateway/runs/reconcile';
import { iso, mergeSteps, presentedStatus } from '../../apps/gateway/runs/views';
import { actionRunSchema, actionRunView } from '../../apps/gateway/surfaces/flow-runs/views';

const T = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s));

function run(over: Partial<Run> = {}): Run {
  return {
    id: 'internal-1',
    publicId: 'nightly-1',
    accountId: 'acc',
    batchId: null,
    position: 0,
    suiteId: null,
    flowId: 'nightly',
    flowVersion: 1,
    flowName: 'Nightly',
    flowType: 'automation',
    status: 'running',
    source: 'api',
    actor: null,
    appId: null,
    buildId: null,
    browser: null,
    triggerData: { x: 1 },
    variables: {},
    tags: [{ key: 'team', value: 'web' }],
    outputs: null,
    error: null,
    external: false,
    workflowId: 'run-internal-1',
    workflowRunId: null,
    startedAt: T(1),
    finishedAt: null,
    durationMs: null,
    createdAt: T(0),
    createdBy: 'key-1',
    updatedAt: T(2),
    updatedBy: null,
    reviewedAt: null,
    reviewedBy: null,
    rerunOf: null,
    resumedFrom: null,
    flaky: false,
    ...over,
  };
}

const row = (stepId: string, over: Partial<StepRun> = {}): StepRun => ({
  runId: 'internal-1',
  stepId,
  position: 0,
  name: stepId,
  type: 'http',
  status: 'succeeded',
  attempts: 1,
  startedAt: T(1),
  finishedAt: T(2),
  durationMs: 1000,
  output: { from: 'row' },
  error: null,
  ...over,
});

describe('a run as a client reads it', () => {
  it('when the workflow is ahead of the row, then its status is the one shown; otherwise the row’s', () => {
    const live: LiveRun = { run: run({ status: 'queued' }), liveStatus: 'running', progress: null };
    expect(presentedStatus(live)).toBe('running');
    expect(presentedStatus({ ...live, liveStatus: null })).toBe('queued');
  });

  it('when there is live progress, then it wins for the steps it knows, the row fills what it lacks, and unknown rows follow', () => {
    const progress: RunProgress = {
      runId: 'internal-1',
      status: 'running',
      steps: [
        { id: 'a', name: 'A', type: 'http', status: 'succeeded', attempts: 2, output: { from: 'progress' } },
        { id: 'b', name: 'B', type: 'transform', status: 'running', attempts: 1 },
      ],
    };
    const steps = mergeSteps([row('a'), row('legacy', { position: 5 })], progress);
    expect(steps.map((s) => [s.stepId, s.status])).toEqual([
      ['a', 'succeeded'],
      ['b', 'running'],
      ['legacy', 'succeeded'],
    ]);
    expect(steps[0]).toMatchObject({ attempts: 2, output: { from: 'progress' }, startedAt: iso(T(1)), durationMs: 1000 });
    expect(steps[1]).toMatchObject({ startedAt: null, output: null, error: null });
  });

  it('when there is no progress, then the rows are the steps as they are', () => {
    expect(mergeSteps([row('a', { status: 'failed', error: 'boom', output: null })], null)).toEqual([
      expect.objectContaining({ stepId: 'a', status: 'failed', error: 'boom', output: null, finishedAt: '2030-01-01T00:00:02.000Z' }),
    ]);
  });

  it('when a run becomes an action-run object, then it has exactly the contract’s fields with the platform’s words', () => {
    const live: LiveRun = { run: run(), liveStatus: null, progress: null };
    const logs: RunLog[] = [{ runId: 'internal-1', key: 'k', ts: T(1), level: 'info', stepId: 'a', message: 'started' }];
    const view = actionRunView(live, mergeSteps([row('a')], null), logs);
    expect(actionRunSchema.strict().parse(view)).toEqual(view);
    expect(view).toMatchObject({
      id: 'nightly-1',
      phase: 'running',
      args: { x: 1 },
      startTime: '2030-01-01T00:00:01.000Z',
      endTime: null,
      actions: [{ id: 'a', phase: 'succeeded', output: { from: 'row' }, error: null }],
      logs: [{ timestamp: '2030-01-01T00:00:01.000Z', message: 'started', level: 'info', action: 'a' }],
      tags: [{ key: 'team', value: 'web' }],
      outputs: null,
    });
  });
});
