/**
 * Bounded expressions: a runaway JSONata expression fails its step within its limit while other
 * runs on the same worker and the gateway carry on; template scanning is linear.
 */
import jsonata from 'jsonata';
import { ExpressionEvaluator, plainPathValue, type ExpressionLimits } from '../activities/expressions';
import { expressionRefs, wholeExpression } from '../domain/templates';
import { startStack, startWorkers, type RunningWorkers, type Stack } from './harness';

const RUNAWAY = '($f:=function($n){$f($n+1)};$f(0))';
const LIMITS: ExpressionLimits = { timeoutMs: 3000, maxDepth: 500, maxSequence: 100_000, memoryMb: 96 };

describe('the expression evaluator', () => {
  let evaluator: ExpressionEvaluator;
  beforeAll(() => {
    evaluator = new ExpressionEvaluator({ ...LIMITS, timeoutMs: 500 });
  });
  afterAll(() => evaluator.close());

  it('when an expression is fine, then its value comes back', async () => {
    await expect(evaluator.evaluate('a + 1', { a: 41 })).resolves.toBe(42);
    await expect(evaluator.evaluate('missing', { a: 1 })).resolves.toBeUndefined();
  });

  it.each([
    ['endless recursion', RUNAWAY, 'time'],
    ['a catastrophic regex (a native call the guardrails cannot interrupt)', '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)', 'time'],
    // The heap runs out first, unless a loaded machine lets the hard deadline come first.
    ['a string larger than the heap', '$pad("", 300000000)', expect.stringMatching(/^(memory|time)$/)],
    ['a huge sequence', '[1..5000000]', 'sequence'],
  ])('when it runs %s, then it fails on its limit while the event loop keeps turning', async (_what, expression, limit) => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const started = Date.now();
    try {
      await expect(evaluator.evaluate(expression, {})).rejects.toMatchObject({ limit });
    } finally {
      clearInterval(timer);
    }
    // A blocked event loop would not tick at all while the expression ran.
    expect(ticks).toBeGreaterThanOrEqual(Math.floor((Date.now() - started) / 20 / 4));
    await expect(evaluator.evaluate('1 + 1', {})).resolves.toBe(2);
  });

  it('when more expressions run away than there are evaluators, then the queued ones still get answered', async () => {
    const results = await Promise.allSettled([RUNAWAY, RUNAWAY, RUNAWAY, '"ok"'].map((e) => evaluator.evaluate(e, {})));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'fulfilled']);
  });
});

describe('the evaluator shared by accounts', () => {
  const REGEX = '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)';
  const FAST: ExpressionLimits = { ...LIMITS, timeoutMs: 300 };

  /** Evaluates each `[account, expression]` at once and notes the label of each as it settles. */
  function settleOrder(evaluator: ExpressionEvaluator, jobs: [account: string, expression: string, label: string][]) {
    const order: string[] = [];
    const done = jobs.map(([account, expression, label]) => evaluator.evaluate(expression, {}, account).finally(() => order.push(label)));
    // Jobs still waiting when the test closes the evaluator are rejected; that is no failure of the test.
    for (const p of done) p.catch(() => undefined);
    return { order, done: (label: string) => done[jobs.findIndex((j) => j[2] === label)] };
  }

  it('when two accounts queue on one process, then their jobs run in turn, not first in first out', async () => {
    const evaluator = new ExpressionEvaluator(FAST, 1);
    try {
      const jobs: [string, string, string][] = [
        ['a', '"a1"', 'a1'],
        ['a', '"a2"', 'a2'],
        ['a', '"a3"', 'a3'],
        ['b', '"b1"', 'b1'],
        ['b', '"b2"', 'b2'],
        ['b', '"b3"', 'b3'],
      ];
      const { order, done } = settleOrder(evaluator, jobs);
      await Promise.all(jobs.map(([, , label]) => done(label)));
      expect(order).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
    } finally {
      await evaluator.close();
    }
  });

  it("when an account queues catastrophic regexes on one process, then another account's 1+1 runs right after the one running", async () => {
    const evaluator = new ExpressionEvaluator(FAST, 1);
    try {
      const { order, done } = settleOrder(evaluator, [
        ['a', REGEX, 'a1'],
        ['a', REGEX, 'a2'],
        ['a', REGEX, 'a3'],
        ['a', REGEX, 'a4'],
        ['b', '1 + 1', 'b'],
      ]);
      await expect(done('b')).resolves.toBe(2);
      expect(order).toEqual(['a1', 'b']);
      await expect(done('a1')).rejects.toMatchObject({ limit: 'time' });
    } finally {
      await evaluator.close();
    }
  });

  it("when an account's catastrophic regexes outnumber the processes, then another account's 1+1 does not wait for any of them", async () => {
    const evaluator = new ExpressionEvaluator(FAST);
    try {
      const slow = ['a1', 'a2', 'a3', 'a4', 'a5'];
      const { order, done } = settleOrder(evaluator, [...slow.map((label): [string, string, string] => ['a', REGEX, label]), ['b', '1 + 1', 'b']]);
      await expect(done('b')).resolves.toBe(2);
      // An account holds all processes but one: b's job never waits behind a's.
      expect(order).toEqual(['b']);
      const results = await Promise.allSettled(slow.map(done));
      expect(results.map((r) => r.status)).toEqual(slow.map(() => 'rejected'));
    } finally {
      await evaluator.close();
    }
  });

  it("when an account has as many expressions waiting as it may, then one more fails at once on the queue limit while another account's pass", async () => {
    const evaluator = new ExpressionEvaluator({ ...FAST, maxQueuedPerAccount: 2 }, 1);
    try {
      for (let i = 0; i < 3; i++) evaluator.evaluate(REGEX, {}, 'a').catch(() => undefined);
      await expect(evaluator.evaluate('1', {}, 'a')).rejects.toMatchObject({ limit: 'queue', message: 'exceeded the limit of 2 expressions waiting per account' });
      await expect(evaluator.evaluate('1 + 1', {}, 'b')).resolves.toBe(2);
    } finally {
      await evaluator.close();
    }
  });

  it('when the account is asked for lazily, then a bare path never asks and an expression asks once', async () => {
    const evaluator = new ExpressionEvaluator(FAST, 1);
    try {
      let asked = 0;
      const account = async () => (asked++, 'a');
      await expect(evaluator.evaluate('x.y', { x: { y: 1 } }, account)).resolves.toBe(1);
      expect(asked).toBe(0);
      await expect(evaluator.evaluate('x.y + 1', { x: { y: 1 } }, account)).resolves.toBe(2);
      expect(asked).toBe(1);
    } finally {
      await evaluator.close();
    }
  });
});

describe('a bare path read without an evaluator', () => {
  const scope = {
    steps: { count: { output: { count: 25, nothing: null, text: 'a', deep: { list: [1, 2], one: [7] } } }, fetch: { output: { body: [{ id: 1 }, { id: 2 }] } } },
    vars: { and: 'x', true: 'y', n: 0 },
  };

  it.each([
    ['steps.count.output.count', true],
    ['  steps.count.output.text ', true],
    ['steps.count.output.nothing', true],
    ['steps.count.output.deep', true],
    ['vars.n', true],
    // JSONata's own rules: arrays on the way or at the end, operators, literals, functions, missing fields.
    ['steps.count.output.deep.list', false],
    ['steps.count.output.deep.one', false],
    ['steps.fetch.output.body.id', false],
    ['vars.and', false],
    ['vars.true', false],
    ['true', false],
    ['steps.count.output.missing', false],
    ['steps.count.output.count + 1', false],
    ['$count(steps.fetch.output.body)', false],
    ['steps.count.output.count.more', false],
    ['constructor', false],
  ])('when the expression is %s, then it is read in place (%s) only where JSONata gives the same value', async (expression, direct) => {
    const plain = plainPathValue(expression, scope);
    expect(plain !== undefined).toBe(direct);
    if (plain) expect(plain.value).toEqual(await jsonata(expression).evaluate(scope));
  });

  it('when the value read is an object, then the caller gets a copy', () => {
    const plain = plainPathValue('steps.count.output.deep', scope) as { value: { list: number[] } };
    plain.value.list.push(3);
    expect(scope.steps.count.output.deep.list).toEqual([1, 2]);
  });
});

describe('template scanning', () => {
  it('when a string holds templates, then each `{{ }}` is found once, left to right', () => {
    expect(expressionRefs('a {{ x }} b {{y}}').map((r) => r.expression)).toEqual([' x ', 'y']);
    expect(expressionRefs('{{{x}}').map((r) => r.expression)).toEqual(['{x']);
    expect(expressionRefs('{{}}')).toEqual([]);
    expect(wholeExpression('  {{ x }} ')).toBe(' x ');
    expect(wholeExpression('{{ a }}-{{ b }}')).toBeUndefined();
  });

  it('when a 900 KB string is a run of `{`, then scanning it stays linear (well under 100 ms)', () => {
    const text = '{'.repeat(900_000);
    const started = process.hrtime.bigint();
    expect(expressionRefs(text)).toEqual([]);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(100);
  });
});

describe('runaway expressions on the real stack', () => {
  let stack: Stack;
  let workers: RunningWorkers;
  let key: string;

  beforeAll(async () => {
    stack = await startStack();
    workers = await startWorkers(stack, { expressionLimits: LIMITS });
    ({ apiKey: key } = await stack.newAccount());
  });
  afterAll(async () => {
    await workers?.stop();
    await stack?.stop();
  });

  it('when a flow is saved with a 900 KB url of `{`, then the gateway answers it (no 5xx) while answering others', async () => {
    const save = stack.call('POST', '/api/v1/flows', { id: 'braces', steps: [{ id: 'get', type: 'http', config: { url: '{'.repeat(900_000) } }] }, key);
    const health = await stack.call('GET', '/healthz');
    const saved = await save;
    expect(health.status).toBe(200);
    expect(saved.status).toBeLessThan(500);
  });

  async function trigger(flowId: string): Promise<string> {
    const res = await stack.call('POST', `/api/v1/flows/${flowId}/runs`, { data: {} }, key);
    expect(res.status).toBe(201);
    return res.body.id;
  }

  async function finished(runId: string): Promise<any> {
    const deadline = Date.now() + 45_000;
    for (;;) {
      const res = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, key);
      if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(res.body.status)) return res.body;
      if (Date.now() > deadline) throw new Error(`run ${runId} did not finish: ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function flow(id: string, steps: unknown[]): Promise<string> {
    const res = await stack.call('POST', '/api/v1/flows', { id, steps }, key);
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
