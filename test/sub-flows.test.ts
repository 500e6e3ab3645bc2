/**
 * `flow` steps against the real stack: a sub-flow runs as a child run of the account, its outputs
 * are read by the next step, its failure fails the step; cycles are refused at save and stopped
 * at run time.
 */
import { withStack, type Loose } from './harness';

let appId: string;

const stack = withStack({ workers: true, account: true });

beforeAll(async () => {
  appId = (await stack.call('POST', '/api/v1/apps', { name: 'shop', platform: 'web', baseUrl: 'http://127.0.0.1:9' }, stack.key)).body.id;
});

async function save(flow: Record<string, unknown>, method: 'POST' | 'PUT' = 'POST') {
  return stack.call(method, method === 'POST' ? '/api/v1/flows' : `/api/v1/flows/${flow.id}`, { name: flow.id, ...flow }, stack.key);
}

async function runOf(flowId: string): Promise<Loose> {
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: [flowId] }, stack.key);
  expect(t.status).toBe(200);
  const runId = t.body.runs[0].id;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key);
    if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(r.body.status)) return r.body;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not finish`);
    await new Promise((res) => setTimeout(res, 150));
  }
}

const action = (run: Loose, id: string) => run.actions.find((a: Loose) => a.step_id === id);

it("when a flow step runs a sub-flow, then the child is a run of its own and the next step reads the child's outputs", async () => {
  expect((await save({ id: 'child', steps: [{ id: 'double', type: 'transform', config: { expression: 'trigger.body.n * 2' } }] })).status).toBe(201);
  const parent = {
    id: 'parent',
    steps: [
      { id: 'sub', type: 'flow', config: { flowId: 'child', data: { n: '{{ 3 + 4 }}' } } },
      { id: 'use', type: 'transform', config: { expression: 'steps.sub.output.outputs.double + 1' } },
    ],
  };
  expect((await save(parent)).status).toBe(201);
  const run = await runOf('parent');
  expect(run.status).toBe('succeeded');
  const sub = action(run, 'sub').output;
  expect(sub).toMatchObject({ status: 'succeeded', outputs: { double: 14 }, runId: expect.any(String) });
  expect(action(run, 'use').output).toBe(15);

  const child = await stack.call('GET', `/api/v1/runs/${sub.runId}`, undefined, stack.key);
  expect(child.status).toBe(200);
  expect(child.body).toMatchObject({ flow_id: 'child', status: 'succeeded', trigger_data: { n: 7 }, batch_id: null });
  expect((await stack.call('GET', `/api/v1/runs/${sub.runId}`, undefined, (await stack.newAccount()).apiKey)).status).toBe(404);
});

it('when the sub-flow fails, then the flow step fails naming the child run', async () => {
  await save({ id: 'broken', steps: [{ id: 'boom', type: 'transform', config: { expression: '$error("no")' } }] });
  await save({ id: 'calls-broken', steps: [{ id: 'sub', type: 'flow', config: { flowId: 'broken' } }] });
  const run = await runOf('calls-broken');
  expect(run.status).toBe('failed');
  expect(run.error.step).toBe('sub');
  const sub = action(run, 'sub');
  expect(sub.status).toBe('failed');
  expect(sub.error).toMatch(/^flow broken run [0-9a-f-]+ failed/);
});

it('when flows would run each other in a cycle, then saving is a 400 naming the step; a cycle that got into storage stops at run time', async () => {
  await save({ id: 'leaf', steps: [{ id: 'x', type: 'transform', config: { expression: '1' } }] });
  await save({ id: 'mid', steps: [{ id: 'down', type: 'flow', config: { flowId: 'leaf' } }] });
  const cycle = await save({ id: 'leaf', steps: [{ id: 'x', type: 'transform', config: { expression: '1' } }, { id: 'up', type: 'flow', config: { flowId: 'mid' } }] }, 'PUT');
  expect(cycle.status).toBe(400);
  expect(cycle.body.detail[0].loc).toEqual(['body', 'steps', 1, 'config', 'flowId']);
  expect(cycle.body.detail[0].msg).toContain('leaf → mid → leaf');
  const self = await save({ id: 'selfish', steps: [{ id: 'me', type: 'flow', config: { flowId: 'selfish' } }] });
  expect(self.status).toBe(400);
  const unknown = await save({ id: 'lost', steps: [{ id: 'nowhere', type: 'flow', config: { flowId: 'no-such-flow' } }] });
  expect(unknown.status).toBe(400);
  expect(unknown.body.detail[0].loc).toEqual(['body', 'steps', 0, 'config', 'flowId']);

  // Written behind the API's back: the run-time guard still stops it.
  await save({ id: 'loop', steps: [{ id: 'x', type: 'transform', config: { expression: '1' } }] });
  await stack.dataSource.query(
    `UPDATE flows SET definition = jsonb_set(definition, '{steps}', $2::jsonb) WHERE id = 'loop' AND account_id = $1`,
    [stack.accountId, JSON.stringify([{ id: 'again', type: 'flow', config: { flowId: 'loop' } }])],
  );
  const run = await runOf('loop');
  expect(run.status).toBe('failed');
  expect(action(run, 'again').error).toMatch(/a flow may not run itself/);
});
