/**
 * A step output larger than a Temporal payload may be (2 MB) is kept in Postgres and passed on by
 * reference: the run succeeds, later steps read the whole output, and the API shows it.
 */
import { withStack } from './harness';

// What is tested is the size, not the evaluator's speed: 30,000 items on a loaded 2-core machine may take over the default second.
const stack = withStack({ env: { FLOWRUNS_EXPRESSION_TIMEOUT_MS: '10000' }, workers: true, stub: true });

async function finished(runId: string): Promise<any> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const res = await stack.call('GET', `/api/v1/runs/${runId}`);
    if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not finish: ${JSON.stringify(res.body).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

it('when a step returns a 3 MB body, then later steps read all of it and the run succeeds', async () => {
  const items = Array.from({ length: 30_000 }, (_, i) => ({ id: i, label: `item number ${i} padded to a hundred bytes or so`, ok: i % 2 === 0 }));
  stack.stub.setHandler(() => ({ body: items }));
  const flow = await stack.call('POST', '/api/v1/flows', {
    id: 'big-output',
    variables: { U: stack.stub.url },
    steps: [
      { id: 'big', type: 'http', config: { url: '${env:U}/items' } },
      { id: 'count', type: 'transform', config: { expression: '$count(steps.big.output.body[ok])' } },
      { id: 'again', type: 'transform', config: { expression: 'steps.big.output.body[-1].id' } },
    ],
  });
  expect(flow.status).toBe(201);
  const trigger = await stack.call('POST', '/api/v1/flows/big-output/runs', { data: {} });
  expect(trigger.status).toBe(201);

  const run = await finished(trigger.body.id);
  expect(run.status).toBe('succeeded');
  const actions = Object.fromEntries(run.actions.map((a: any) => [a.step_id, a]));
  expect(actions.count.output).toBe(15_000);
  expect(actions.again.output).toBe(29_999);
  expect(actions.big.output.body).toHaveLength(30_000);
  expect(JSON.stringify(run)).not.toContain('$outputRef');
});
