/**
 * Bounded expressions on the real stack: a runaway JSONata expression fails its step within its
 * limit while other runs on the same worker and the gateway carry on. The evaluator on its own is
 * test/unit/expressions.test.ts, its limits test/expression-limits.test.ts.
 */
import type { ExpressionLimits } from '../activities/expressions';
import { withStack } from './harness';

const RUNAWAY = '($f:=function($n){$f($n+1)};$f(0))';
const LIMITS: ExpressionLimits = { timeoutMs: 3000, maxDepth: 500, maxSequence: 100_000, memoryMb: 96 };

describe('runaway expressions on the real stack', () => {
  const stack = withStack({ workers: { expressionLimits: LIMITS }, account: true });

  it('when a flow is saved with a 900 KB url of `{`, then the gateway answers it (no 5xx) while answering others', async () => {
    const save = stack.call('POST', '/api/v1/flows', { id: 'braces', steps: [{ id: 'get', type: 'http', config: { url: '{'.repeat(900_000) } }] }, stack.key);
    const health = await stack.call('GET', '/healthz');
    const saved = await save;
    expect(health.status).toBe(200);
    expect(saved.status).toBeLessThan(500);
  });

  async function trigger(flowId: string): Promise<string> {
    const res = await stack.call('POST', `/api/v1/flows/${flowId}/runs`, { data: {} }, stack.key);
    expect(res.status).toBe(201);
    return res.body.id;
  }

  async function finished(runId: string): Promise<any> {
    const deadline = Date.now() + 45_000;
    for (;;) {
      const res = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key);
      if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(res.body.status)) return res.body;
      if (Date.now() > deadline) throw new Error(`run ${runId} did not finish: ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function flow(id: string, steps: unknown[]): Promise<string> {
    const res = await stack.call('POST', '/api/v1/flows', { id, steps }, stack.key);
    expect(res.status).toBe(201);
    return id;
  }

  it.each([
    ['a transform', [{ id: 'loop', type: 'transform', config: { expression: RUNAWAY } }]],
    ['an if', [{ id: 'loop', type: 'delay', if: RUNAWAY, config: { durationMs: 1 } }]],
  ])('when %s runs away, then its step fails naming the step and the limit, and a concurrent run finishes meanwhile', async (what, steps) => {
    const slug = what.replace(/\W+/g, '-');
    const runaway = await trigger(await flow(`runaway${slug}`, steps));
    const quick = await trigger(
      await flow(`quick${slug}`, [
        { id: 'a', type: 'transform', config: { expression: '1 + 1' } },
        { id: 'b', type: 'transform', config: { expression: 'steps.a.output * 2' } },
      ]),
    );
    const health = await stack.call('GET', '/healthz', undefined, null);
    expect(health.status).toBe(200);

    const [slow, fast] = await Promise.all([finished(runaway), finished(quick)]);
    expect(fast.status).toBe('succeeded');
    expect(fast.actions.map((a: any) => a.output)).toEqual([2, 4]);
    expect(slow.status).toBe('failed');
    expect(slow.error.message).toMatch(/step loop: expression .* exceeded the time limit of 3000 ms/);
    const loop = slow.actions.find((a: any) => a.step_id === 'loop');
    expect(loop.attempts).toBe(1);
    expect(new Date(fast.finished_at).getTime()).toBeLessThan(new Date(slow.finished_at).getTime());
  });

  it("when an account's runs hold more catastrophic regexes than the worker has evaluators, then another account's run finishes before any of them", async () => {
    const [a, b] = [(await stack.newAccount()).apiKey, (await stack.newAccount()).apiKey];
    const as = async (owner: string, method: string, path: string, body?: unknown) => stack.call(method, path, body, owner);
    const regex = '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)';
    expect((await as(a, 'POST', '/api/v1/flows', { id: 'regex', steps: [{ id: 'r', type: 'transform', config: { expression: regex } }] })).status).toBe(201);
    const sum = [
      { id: 'a', type: 'transform', config: { expression: '1 + 1' } },
      { id: 'b', type: 'transform', config: { expression: 'steps.a.output * 2' } },
    ];
    expect((await as(b, 'POST', '/api/v1/flows', { id: 'sum', steps: sum })).status).toBe(201);

    const slow = await Promise.all([1, 2, 3, 4].map(async () => (await as(a, 'POST', '/api/v1/flows/regex/runs', { data: {} })).body.id as string));
    const quick = (await as(b, 'POST', '/api/v1/flows/sum/runs', { data: {} })).body.id as string;
    const ended = async (owner: string, runId: string) => {
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
        const res = await as(owner, 'GET', `/api/v1/runs/${runId}`);
        if (!['queued', 'running'].includes(res.body.status)) return res.body;
      }
      throw new Error(`run ${runId} did not finish`);
    };

    const fast = await ended(b, quick);
    expect([fast.status, fast.actions.map((x: any) => x.output)]).toEqual(['succeeded', [2, 4]]);
    const slowRuns = await Promise.all(slow.map((id) => ended(a, id)));
    for (const run of slowRuns) {
      expect(run.error.message).toMatch(/exceeded the time limit/);
      expect(new Date(fast.finished_at).getTime()).toBeLessThan(new Date(run.finished_at).getTime());
    }
  });
});
