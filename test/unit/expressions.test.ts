/**
 * Bounded expressions, without the stack: the evaluator's processes and the limit that needs no
 * kill, accounts taking turns on them, bare paths read in place, and template scanning in linear
 * time. The limits that wait for a kill (time, heap, catastrophic regexes) are
 * test/expression-limits.test.ts; the end-to-end half (a runaway expression failing its step while
 * other runs and the gateway carry on) is test/expressions.test.ts.
 */
import jsonata from 'jsonata';
import { ExpressionEvaluator, plainPathValue, type ExpressionLimits } from '../../activities/expressions';
import { expressionRefs, wholeExpression } from '../../domain/templates';

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

  it('when it runs a huge sequence, then it fails on its limit while the event loop keeps turning', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const started = Date.now();
    try {
      await expect(evaluator.evaluate('[1..5000000]', {})).rejects.toMatchObject({ limit: 'sequence' });
    } finally {
      clearInterval(timer);
    }
    // A blocked event loop would not tick at all while the expression ran.
    expect(ticks).toBeGreaterThanOrEqual(Math.floor((Date.now() - started) / 20 / 4));
    await expect(evaluator.evaluate('1 + 1', {})).resolves.toBe(2);
  });
});

describe('the evaluator shared by accounts', () => {
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
    // CPU time of this process, not the wall clock: a loaded machine does not fail it; quadratic work would take minutes.
    const started = process.cpuUsage();
    expect(expressionRefs(text)).toEqual([]);
    const used = process.cpuUsage(started);
    expect((used.user + used.system) / 1000).toBeLessThan(100);
  });
});
