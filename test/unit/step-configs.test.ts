/**
 * The step types of steps/ without a worker: each type's config schema (what saving a flow
 * accepts and refuses, the defaults it fills in), the attempt timeouts they declare, the workflow
 * steps' `run` against a fake workflow context, and the http step's `execute` against a fake fetch
 * (which failures are retried, what a redirect carries).
 */
import { ApplicationFailure } from '@temporalio/common';
import { stepSchema, stepType, nonRetryableErrors, STEPS } from '../../steps';
import { approvalStep } from '../../steps/approval';
import { actionSchema, browserAttemptTimeoutMs, browserConfig, viewportSchema } from '../../steps/browser-config';
import { delayStep } from '../../steps/delay';
import { flowStep } from '../../steps/flow';
import { httpStep } from '../../steps/http';
import { scanConfig } from '../../steps/scan-config';
import { scanStep } from '../../steps/scan';
import { COMMON_NON_RETRYABLE, type ActivityStepContext, type RequestRecord, type WorkflowStepContext } from '../../steps/step-type';

/** The message of each issue zod finds in `config` for a step of `type`, at its path under config. */
function configIssues(type: string, config: unknown): string[] {
  const parsed = stepSchema.safeParse({ id: 's', type, config });
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('the step registry', () => {
  it('when a type is registered, then it is found by name with the common non-retryable errors added; an unknown one is not', () => {
    expect(STEPS.map((s) => s.type)).toEqual(['http', 'transform', 'delay', 'approval', 'flow', 'browser', 'scan']);
    const http = stepType('http')!;
    expect(nonRetryableErrors(http)).toEqual(expect.arrayContaining([...COMMON_NON_RETRYABLE, 'HttpStatusError', 'EgressDenied']));
    expect(stepType('ftp')).toBeUndefined();
  });

  it('when a config has a field its type does not know, then it is refused naming the field', () => {
    expect(configIssues('transform', { expression: '1', extra: true })).toEqual([expect.stringMatching(/^config: .*extra/)]);
  });
});

describe('step configs', () => {
  it('when an http method is lower case, then it is upper-cased; an unknown method or status is refused', () => {
    expect(httpStep.config.parse({ url: 'https://x', method: 'post' }).method).toBe('POST');
    expect(configIssues('http', { url: 'https://x', method: 'FETCH' })).toHaveLength(1);
    expect(configIssues('http', { url: 'https://x', expectStatus: [99] })).toEqual([expect.stringMatching(/^config\.expectStatus\.0:/)]);
    expect(configIssues('http', { url: '' })).toEqual([expect.stringMatching(/^config\.url:/)]);
  });

  it('when a delay names neither a duration nor a time, then it is refused; either one is enough', () => {
    expect(configIssues('delay', {})).toEqual(['config: a delay needs durationMs or until']);
    expect(configIssues('delay', { durationMs: 10 })).toEqual([]);
    expect(configIssues('delay', { until: '2030-01-01T00:00:00Z' })).toEqual([]);
    expect(configIssues('delay', { durationMs: 367 * 24 * 3_600_000 })).toHaveLength(1);
  });

  it('when an approval has no config, then it gets an empty one; a transform needs its expression', () => {
    expect(approvalStep.config.parse(undefined)).toEqual({});
    expect(configIssues('transform', {})).toEqual([expect.stringMatching(/^config\.expression:/)]);
  });

  it('when a flow step names a flow id that no flow could have, then it is refused', () => {
    expect(configIssues('flow', { flowId: 'Child Flow' })).toEqual(['config.flowId: must match ^[a-z0-9_.-]+$']);
    expect(configIssues('flow', { flowId: 'child', data: { a: 1 } })).toEqual([]);
  });

  it('when a viewport is written as "W,H", "WxH" or an object, then it is one size; out of bounds is refused', () => {
    expect(viewportSchema.parse(' 1280 , 800 ')).toEqual({ width: 1280, height: 800 });
    expect(viewportSchema.parse('1280x800')).toEqual({ width: 1280, height: 800 });
    expect(viewportSchema.parse({ width: 390, height: 844 })).toEqual({ width: 390, height: 844 });
    expect(viewportSchema.safeParse('50,50').success).toBe(false);
    expect(viewportSchema.safeParse('wide').success).toBe(false);
  });

  it('when browser actions are saved, then waitFor takes exactly one condition and expect one check', () => {
    expect(actionSchema.safeParse({ action: 'waitFor', selector: '#a' }).success).toBe(true);
    expect(actionSchema.safeParse({ action: 'waitFor', selector: '#a', text: 'x' }).success).toBe(false);
    expect(actionSchema.safeParse({ action: 'expect', selector: '#a', count: 2 }).success).toBe(true);
    expect(actionSchema.safeParse({ action: 'expect', selector: '#a', text: 'x', visible: true }).success).toBe(false);
    expect(actionSchema.safeParse({ action: 'expect', title: 'Home' }).success).toBe(true);
    expect(actionSchema.safeParse({ action: 'screenshot', name: '.hidden' }).success).toBe(false);
    expect(browserConfig.parse({ url: 'https://x' }).actions).toEqual([]);
  });

  it('when a scan lists a type twice, then it runs once; the threshold and full page have defaults; an unknown type is refused', () => {
    expect(scanConfig.parse({ url: 'https://x', types: ['html', 'vrt', 'html'] })).toMatchObject({ types: ['html', 'vrt'], threshold: 95, fullPage: true });
    expect(configIssues('scan', { url: 'https://x', types: ['pdf'] })).toEqual([expect.stringMatching(/^config\.types\.0: a scan type: one of html, logs/)]);
  });
});

describe('attempt timeouts', () => {
  it('when a browser step has actions, then each may take its timeout, plus the start, capped at 30 minutes', () => {
    expect(browserAttemptTimeoutMs(undefined, 0)).toBe(30_000 * 2 + 60_000);
    expect(browserAttemptTimeoutMs(1_000, 3)).toBe(1_000 * 5 + 60_000);
    expect(browserAttemptTimeoutMs(300_000, 200)).toBe(30 * 60_000);
  });

  it('when a scan runs lighthouse, then its attempt gets two more minutes; an http attempt gets its timeout and 10 s', () => {
    const scan = scanConfig.parse({ url: 'https://x', types: ['html'] });
    const withLighthouse = scanConfig.parse({ url: 'https://x', types: ['lighthouse'] });
    expect(scanStep.attemptTimeoutMs(withLighthouse) - scanStep.attemptTimeoutMs(scan)).toBe(120_000);
    expect(httpStep.attemptTimeoutMs(httpStep.config.parse({ url: 'https://x', timeoutMs: 5_000 }))).toBe(15_000);
  });
});

describe('workflow steps against a fake workflow context', () => {
  function context(over: Partial<WorkflowStepContext> = {}): WorkflowStepContext & { slept: number[] } {
    const slept: number[] = [];
    return {
      slept,
      sleep: async (ms) => void slept.push(ms),
      now: () => Date.parse('2030-01-01T00:00:00Z'),
      awaitDecision: async () => undefined,
      runFlow: async () => ({ runId: 'child', status: 'succeeded', outputs: {} }),
      ...over,
    };
  }

  it('when a delay names a time, then it sleeps until then (not at all once past); a duration is slept as given', async () => {
    const ctx = context();
    await expect(delayStep.run({ until: '2030-01-01T00:00:10Z' }, ctx)).resolves.toEqual({ status: 'succeeded', output: { delayedMs: 10_000 } });
    await delayStep.run({ until: '2029-12-31T00:00:00Z' }, ctx);
    await delayStep.run({ durationMs: 250 }, ctx);
    expect(ctx.slept).toEqual([10_000, 0, 250]);
    await expect(delayStep.run({ durationMs: 'soon' }, ctx)).rejects.toBeInstanceOf(ApplicationFailure);
  });

  it('when a reviewer rejects, then the step fails with their comment; no decision in time fails it for good', async () => {
    const rejected = context({ awaitDecision: async () => ({ approved: false, reviewer: 'ann', comment: 'not yet' }) });
    await expect(approvalStep.run({}, rejected)).resolves.toEqual({
      status: 'failed',
      output: { approved: false, reviewer: 'ann', comment: 'not yet' },
      error: 'rejected by ann: not yet',
    });
    const asked: (number | undefined)[] = [];
    const silent = context({ awaitDecision: async (t) => void asked.push(t) });
    await expect(approvalStep.run({ timeoutMs: 5 }, silent)).rejects.toMatchObject({ nonRetryable: true, message: 'no decision within 5ms' });
    expect(asked).toEqual([5]);
  });

  it("when a child flow fails, then the flow step fails naming the child run; its success is the step's output", async () => {
    const failed = context({ runFlow: async () => ({ runId: 'c1', status: 'failed', outputs: {}, error: 'step get failed' }) });
    await expect(flowStep.run({ flowId: 'child' }, failed)).resolves.toMatchObject({ status: 'failed', error: 'flow child run c1 failed: step get failed' });
    await expect(flowStep.run({ flowId: 'child' }, context())).resolves.toEqual({ status: 'succeeded', output: { runId: 'child', status: 'succeeded', outputs: {} } });
  });
});

describe('the http step against a fake fetch', () => {
  function context(answers: ((url: URL, init: RequestInit) => Response)[]): ActivityStepContext & { records: RequestRecord[]; sent: [URL, RequestInit][] } {
    const records: RequestRecord[] = [];
    const sent: [URL, RequestInit][] = [];
    let at = 0;
    return {
      attempt: 2,
      signal: new AbortController().signal,
      clock: () => new Date('2030-01-01T00:00:00Z'),
      evaluate: async () => undefined,
      recordRequest: async (r) => void records.push(r),
      fetch: (async (url: URL, init: RequestInit) => (sent.push([url, init]), answers[at++]!(url, init))) as unknown as typeof fetch,
      records,
      sent,
    };
  }
  const run = (config: unknown, ctx: ActivityStepContext) => httpStep.execute(httpStep.config.parse(config), ctx);

  it('when the answer is JSON, then the output has its status, headers and parsed body, and the attempt is recorded', async () => {
    const ctx = context([() => new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } })]);
    await expect(run({ url: 'https://api.test/x', method: 'post', body: { a: 1 } }, ctx)).resolves.toMatchObject({ status: 200, body: { ok: true } });
    expect(ctx.sent[0]![1]).toMatchObject({ method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(ctx.records).toEqual([expect.objectContaining({ attempt: 2, method: 'POST', url: 'https://api.test/x', status: 200, error: null })]);
  });

  it('when the answer is 5xx, then the attempt fails retryable; a 4xx or an unexpected status fails it for good', async () => {
    await expect(run({ url: 'https://api.test/' }, context([() => new Response('down', { status: 503 })]))).rejects.toMatchObject({ nonRetryable: false, type: 'HttpServerError' });
    await expect(run({ url: 'https://api.test/' }, context([() => new Response('no', { status: 404 })]))).rejects.toMatchObject({ nonRetryable: true, type: 'HttpStatusError' });
    await expect(run({ url: 'https://api.test/', expectStatus: [201] }, context([() => new Response('', { status: 200 })]))).rejects.toMatchObject({
      nonRetryable: true,
      message: expect.stringMatching(/answered 200, expected 201/),
    });
  });

  it('when a redirect leads to another origin, then the credentials stay behind and a 303 turns the POST into a GET', async () => {
    const ctx = context([() => new Response(null, { status: 303, headers: { location: 'https://other.test/next' } }), () => new Response('done', { status: 200 })]);
    await run({ url: 'https://api.test/', method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'text/plain', 'x-trace': '1' }, body: 'b' }, ctx);
    expect(ctx.sent[1]![0].toString()).toBe('https://other.test/next');
    expect(ctx.sent[1]![1]).toMatchObject({ method: 'GET', body: undefined, headers: { 'x-trace': '1' } });
    expect(ctx.records).toEqual([expect.objectContaining({ url: 'https://other.test/next', method: 'GET', status: 200 })]);
  });

  it('when the url is no http URL or the egress policy refuses it, then the step fails for good without retrying', async () => {
    await expect(run({ url: 'ftp://files.test/' }, context([]))).rejects.toMatchObject({ nonRetryable: true, type: 'InvalidRequest' });
    const refused = Object.assign(new Error('169.254.169.254 is not allowed: link-local'), { name: 'EgressDenied' });
    const ctx = context([
      () => {
        throw refused;
      },
    ]);
    await expect(run({ url: 'http://169.254.169.254/' }, ctx)).rejects.toMatchObject({ nonRetryable: true, type: 'EgressDenied' });
    expect(ctx.records[0]).toMatchObject({ status: 0, error: refused.message });
  });
});
