/**
 * The expression evaluator's limits, each case waiting for one: runaway expressions killed at
 * their time, heap or depth limit and their process replaced, and one account's catastrophic
 * regexes never holding another account's expressions. No Temporal or Postgres is used, but each
 * case waits out a limit and a process restart (seconds), so they sit in the stack tier, off the
 * unit tier's fast loop; the evaluator's quick behaviours are test/unit/expressions.test.ts, the
 * end-to-end half test/expressions.test.ts.
 */
import { ExpressionEvaluator, type ExpressionLimits } from '../activities/expressions';

const RUNAWAY = '($f:=function($n){$f($n+1)};$f(0))';
const LIMITS: ExpressionLimits = { timeoutMs: 3000, maxDepth: 500, maxSequence: 100_000, memoryMb: 96 };

describe('the expression evaluator', () => {
  let evaluator: ExpressionEvaluator;
  beforeAll(() => {
    evaluator = new ExpressionEvaluator({ ...LIMITS, timeoutMs: 500 });
  });
  afterAll(() => evaluator.close());

  it.each([
    ['endless recursion', RUNAWAY, 'time'],
    ['a catastrophic regex (a native call the guardrails cannot interrupt)', '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)', 'time'],
    // The heap runs out first, unless a loaded machine lets the hard deadline come first.
    ['a string larger than the heap', '$pad("", 300000000)', expect.stringMatching(/^(memory|time)$/)],
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
});
