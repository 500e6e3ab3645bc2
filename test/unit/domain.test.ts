/**
 * The small pure modules of domain/ that the other unit files do not cover: browser names,
 * derived ids, output references, run and batch statuses on each surface, and which webhook
 * target hears of which ending.
 */
import { BROWSERS, normalizeBrowser } from '../../domain/browser';
import { derivedId, scheduledBatchId } from '../../domain/derived-ids';
import { isOutputRef, scopeHasRefs } from '../../domain/output-refs';
import { RUN_STATUSES, batchStatus, flowRunObjectStatus, isTerminalRun, isTerminalStep, upperCaseStatus, type RunStatus } from '../../domain/statuses';
import { webhookId, wants, type WebhookTarget } from '../../domain/webhooks';

describe('browser names', () => {
  it.each([
    ['Google Chrome', 'chrome'],
    [' msedge ', 'edge'],
    ['Microsoft Edge', 'edge'],
    ['mozilla firefox', 'firefox'],
    ['CHROMIUM', 'chromium'],
  ])('when a client spells it %j, then it is %s', (name, browser) => {
    expect(normalizeBrowser(name)).toBe(browser);
  });

  it('when the name is no browser, then there is none; every canonical name maps to itself', () => {
    expect(normalizeBrowser('safari')).toBeUndefined();
    for (const b of BROWSERS) expect(normalizeBrowser(b)).toBe(b);
  });
});

describe('derived ids', () => {
  it('when the same parts are given twice, then the id is the same, UUID-shaped; other parts give another', () => {
    const id = derivedId('a', 'b');
    expect(id).toBe(derivedId('a', 'b'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedId('a\nb')).toBe(id); // parts are joined by newlines
    expect(derivedId('b', 'a')).not.toBe(id);
  });

  it("when a schedule fires, then its batch's id follows from the firing's workflow id alone", () => {
    expect(scheduledBatchId('sched-1-2026-01-01T00:00:00Z')).toBe(derivedId('schedule-firing', 'sched-1-2026-01-01T00:00:00Z'));
    expect(scheduledBatchId('x')).not.toBe(scheduledBatchId('y'));
  });
});

describe('output references', () => {
  const ref = { $outputRef: { runId: 'r', stepId: 's', bytes: 300_000 } };

  it('when a value is a reference, then it is recognised; arrays, null and plain objects are not', () => {
    expect(isOutputRef(ref)).toBe(true);
    for (const v of [null, [ref], { $outputRef: 'x' }, 'ref', 3]) expect(isOutputRef(v)).toBe(false);
  });

  it("when a step's or an auth step's output is a reference, then the scope has references to load", () => {
    expect(scopeHasRefs({ steps: { a: { output: 1 } }, auth: {} })).toBe(false);
    expect(scopeHasRefs({ steps: { a: { output: 1 }, b: { output: ref } }, auth: {} })).toBe(true);
    expect(scopeHasRefs({ steps: {}, auth: { login: { output: ref } } })).toBe(true);
  });
});

describe('statuses', () => {
  it('when a status ends a run or a step, then it is terminal; the others are not', () => {
    expect(RUN_STATUSES.filter(isTerminalRun)).toEqual(['succeeded', 'failed', 'cancelled', 'timed_out']);
    expect(isTerminalStep('skipped')).toBe(true);
    expect(isTerminalStep('waiting')).toBe(false);
  });

  it.each<[RunStatus[], RunStatus]>([
    [[], 'queued'],
    [['queued', 'queued'], 'queued'],
    [['queued', 'succeeded'], 'running'],
    [['running', 'waiting', 'succeeded'], 'waiting'],
    [['succeeded', 'succeeded'], 'succeeded'],
    [['succeeded', 'timed_out', 'failed'], 'failed'],
    [['succeeded', 'timed_out', 'cancelled'], 'timed_out'],
    [['succeeded', 'cancelled'], 'cancelled'],
  ])('when a batch has runs %j, then the batch is %s', (runs, status) => {
    expect(batchStatus(runs)).toBe(status);
  });

  it('when a status is shown as a FlowRun object or a per-flow run, then it takes that surface’s spelling', () => {
    expect(RUN_STATUSES.map(flowRunObjectStatus)).toEqual(['queued', 'working', 'working', 'passed', 'failed', 'cancelled', 'failed']);
    expect(upperCaseStatus('timed_out')).toBe('TIMED_OUT');
  });
});

describe('webhook targets', () => {
  const target = (...on: WebhookTarget['on']): WebhookTarget => ({ url: 'https://example.com/hook', on });

  it.each<[WebhookTarget['on'], RunStatus[]]>([
    [['failed'], ['failed', 'timed_out']],
    [['succeeded'], ['succeeded']],
    [['finished'], ['succeeded', 'failed', 'cancelled', 'timed_out']],
    [['failed', 'succeeded'], ['succeeded', 'failed', 'timed_out']],
  ])('when a target listens for %j, then it hears of exactly %j', (on, heard) => {
    const ended: RunStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out'];
    expect(ended.filter((s) => wants(target(...on), s))).toEqual(heard);
  });

  it('when a delivery is retried or replayed, then its webhook-id is the same; another target gets another', () => {
    expect(webhookId('run-end-1', 0)).toBe('msg_run-end-1_0');
    expect(webhookId('run-end-1', 1)).not.toBe(webhookId('run-end-1', 0));
  });
});
