/** Large batches as a plan (domain/batch-plan.ts): the matrix, positions, chunks' slices and the workflow input. */
import {
  batchFlowIds,
  DEFAULT_BATCH_LIMITS,
  matrixCombos,
  matrixSize,
  planSlice,
  plannedAt,
  workflowInput,
} from '../../domain/batch-plan';
import type { BatchPlan, BatchRunInput, FlowRunInput, PlannedFlow } from '../../domain/flow-types';

const flow = (flowId: string, variables: Record<string, string> = {}): PlannedFlow => ({ flowId, flowVersion: 1, variables });

const plan = (flows: PlannedFlow[], matrix?: Record<string, string[]>): BatchPlan => {
  const combos = matrixCombos(matrix);
  return { total: flows.length * combos.length, chunkRuns: 2, flows, combos, comboOffset: 0, trigger: { body: null } };
};

const run = (id: string, flowId: string): FlowRunInput => ({ runId: id, flow: { id: flowId } }) as FlowRunInput;

const input = (runs: FlowRunInput[], p?: BatchPlan): BatchRunInput =>
  ({ batchId: 'b', accountId: 'acc', source: 'api', maxParallel: 5, meta: {}, runs, ...(p ? { plan: p } : {}) }) as BatchRunInput;

describe('the matrix', () => {
  it('when there is no matrix, then there is one combination with no variables', () => {
    expect(matrixCombos(undefined)).toEqual([{}]);
    expect(matrixSize(undefined)).toBe(1);
  });

  it('when there are two keys, then every combination comes in nested-loop order, the last key fastest, values as strings', () => {
    const matrix = { browser: ['chrome', 'firefox'], size: [1, 2, 3] };
    expect(matrixCombos(matrix)).toEqual([
      { browser: 'chrome', size: '1' },
      { browser: 'chrome', size: '2' },
      { browser: 'chrome', size: '3' },
      { browser: 'firefox', size: '1' },
      { browser: 'firefox', size: '2' },
      { browser: 'firefox', size: '3' },
    ]);
    expect(matrixSize(matrix)).toBe(6);
  });

  it('when a key has no values, then there are no runs', () => {
    expect(matrixCombos({ a: ['x'], b: [] })).toEqual([]);
    expect(matrixSize({ a: ['x'], b: [] })).toBe(0);
  });
});

describe('positions of a plan', () => {
  const p = plan([flow('login', { REGION: 'eu', SIZE: 'flow' }), flow('search')], { SIZE: ['s', 'm', 'l'] });

  it('when runs are numbered, then flows vary fastest and the combination overrides the flow variables', () => {
    expect([0, 1, 2, 5].map((i) => plannedAt(p, i))).toEqual([
      { flow: p.flows[0], variables: { REGION: 'eu', SIZE: 's' } },
      { flow: p.flows[1], variables: { SIZE: 's' } },
      { flow: p.flows[0], variables: { REGION: 'eu', SIZE: 'm' } },
      { flow: p.flows[1], variables: { SIZE: 'l' } },
    ]);
  });

  it('when a chunk takes positions [from, to), then its slice carries only its combinations and gives the same runs', () => {
    const slice = planSlice(p, 3, 5);
    expect(slice.combos).toEqual([{ SIZE: 'm' }, { SIZE: 'l' }]);
    expect(slice.comboOffset).toBe(1);
    for (const i of [3, 4]) expect(plannedAt(slice, i)).toEqual(plannedAt(p, i));
    // A slice of a slice: offsets add up.
    const inner = planSlice(slice, 4, 5);
    expect(inner.combos).toEqual([{ SIZE: 'l' }]);
    expect(plannedAt(inner, 4)).toEqual(plannedAt(p, 4));
  });
});

describe('the workflow input', () => {
  const runs = Array.from({ length: 3 }, (_, i) => run(`r${i}`, 'f'));

  it('when a batch is within the inline bound, then it carries its runs whole and no plan', () => {
    const out = workflowInput(input(runs, plan([flow('f')])), { inlineRuns: 3, chunkRuns: 2 });
    expect(out.runs).toHaveLength(3);
    expect(out.plan).toBeUndefined();
  });

  it('when a batch is over the inline bound, then it carries the plan with the chunk size and no runs', () => {
    const out = workflowInput(input(runs, plan([flow('f')])), { inlineRuns: 2, chunkRuns: 7 });
    expect(out.runs).toEqual([]);
    expect(out.plan?.chunkRuns).toBe(7);
  });

  it('when there is no plan, then the runs go whole whatever their number', () => {
    expect(workflowInput(input(runs), { inlineRuns: 1, chunkRuns: 1 }).runs).toHaveLength(3);
    expect(DEFAULT_BATCH_LIMITS.inlineRuns).toBeGreaterThan(0);
  });
});

describe('the flow ids search attribute', () => {
  it('when runs repeat flows, then each id appears once, in order', () => {
    expect(batchFlowIds(input([run('1', 'a'), run('2', 'b'), run('3', 'a')]))).toBe('a,b');
  });

  it('when the batch is planned, then the ids come from the plan', () => {
    expect(batchFlowIds(input([], plan([flow('x'), flow('y')])))).toBe('x,y');
  });

  it('when the ids exceed a keyword (2,048 bytes, counted in UTF-8), then only whole ids that fit are kept', () => {
    const ids = Array.from({ length: 30 }, (_, i) => `${'é'.repeat(40)}${String(i).padStart(2, '0')}`); // 82 bytes each
    const value = batchFlowIds(input(ids.map((id, i) => run(String(i), id))));
    expect(Buffer.byteLength(value)).toBeLessThanOrEqual(2048);
    expect(value.split(',')).toEqual(ids.slice(0, value.split(',').length));
    expect(value.split(',')).toHaveLength(24); // 24 × 82 + 23 commas = 1,991; one more would be 2,074
  });
});
