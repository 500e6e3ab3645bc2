/**
 * The CLI's JUnit writer (apps/cli/junit.ts) on hand-made runs: a suite per run, a case per step,
 * failures, skips, a run that failed outside its steps, and text no XML parser chokes on.
 */
import { XMLParser } from 'fast-xml-parser';
import { junitXml } from '../../apps/cli/src/reporters/junit';
import type { RunDetail } from '../../apps/client';

type Loose = any;
const parse = (xml: string): Loose =>
  new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name) }).parse(xml);

type Action = RunDetail['actions'][number];
const action = (step_id: string, status: string, duration_ms: number | null, error: string | null = null): Action =>
  ({ step_id, name: step_id, type: 'http', status, started_at: null, finished_at: null, duration_ms, attempts: 1, output: null, error, screenshot_url: null }) as Action;

const runOf = (id: string, status: RunDetail['status'], actions: Action[], extra: Partial<RunDetail> = {}): RunDetail =>
  ({
    id,
    batch_id: 'batch-1',
    flow_id: 'checkout',
    flow_name: 'Checkout',
    status,
    created_at: '2026-01-01T00:00:00.000Z',
    started_at: '2026-01-01T00:00:01.000Z',
    duration_ms: 2500,
    error: null,
    actions,
    ...extra,
  }) as RunDetail;

const links = (run: RunDetail) => ({ url: `https://flowruns.example/runs/${run.id}` });

describe('junitXml', () => {
  it('when a run passes, then it is one suite with a case per step, its time in seconds and its links as properties', () => {
    const doc = parse(junitXml([runOf('r1', 'succeeded', [action('login', 'succeeded', 1200), action('buy', 'succeeded', 300)])], links));
    expect(doc.testsuites).toMatchObject({ name: 'flowruns', tests: '2', failures: '0', errors: '0', skipped: '0', time: '2.500' });
    const [suite] = doc.testsuites.testsuite;
    expect(suite).toMatchObject({ name: 'Checkout', id: '0', tests: '2', failures: '0', time: '2.500', timestamp: '2026-01-01T00:00:01.000Z' });
    expect(suite.testcase).toEqual([
      { name: 'login', classname: 'checkout', time: '1.200' },
      { name: 'buy', classname: 'checkout', time: '0.300' },
    ]);
    expect(Object.fromEntries(suite.properties.property.map((p: Loose) => [p.name, p.value]))).toEqual({
      run_id: 'r1',
      batch_id: 'batch-1',
      flow_id: 'checkout',
      status: 'succeeded',
      url: 'https://flowruns.example/runs/r1',
    });
  });

  it('when steps fail, are cancelled or skipped, then they carry <failure> or <skipped/>, and the counts add up across suites', () => {
    const xml = junitXml(
      [
        runOf('r1', 'failed', [action('a', 'succeeded', 10), action('b', 'failed', 20, 'HTTP 500'), action('c', 'skipped', null)]),
        runOf('r2', 'cancelled', [action('a', 'cancelled', 5)]),
      ],
      links,
    );
    const doc = parse(xml);
    expect(doc.testsuites).toMatchObject({ tests: '4', failures: '2', skipped: '1' });
    const [first, second] = doc.testsuites.testsuite;
    expect(first.testcase[1]).toEqual({ name: 'b', classname: 'checkout', time: '0.020', failure: { message: 'HTTP 500', type: 'failed', '#text': 'HTTP 500' } });
    expect(first.testcase[2]).toEqual({ name: 'c', classname: 'checkout', time: '0.000', skipped: '' });
    expect(second.testcase[0].failure).toMatchObject({ message: 'step cancelled', type: 'cancelled' });
    expect(second.id).toBe('1');
  });

  it('when a run failed outside any step, then a `run` case carries its error', () => {
    const doc = parse(junitXml([runOf('r1', 'timed_out', [action('a', 'succeeded', 10)], { error: { message: 'run timed out after 60s' } } as Partial<RunDetail>)], links));
    const cases = doc.testsuites.testsuite[0].testcase;
    expect(cases).toHaveLength(2);
    expect(cases[1]).toMatchObject({ name: 'run', time: '2.500', failure: { message: 'run timed out after 60s', type: 'timed_out' } });
  });

  it('when names and errors hold markup, quotes and control characters, then the XML still parses to the same text, control characters dropped', () => {
    const nasty = `<b>"x" & 'y'</b>\u0001\u001F end`;
    const xml = junitXml([runOf('r1', 'failed', [action(nasty, 'failed', 1, nasty)], { flow_name: nasty })], () => ({}));
    expect(xml.includes('\u0001') || xml.includes('\u001F')).toBe(false);
    const suite = parse(xml).testsuites.testsuite[0];
    const clean = `<b>"x" & 'y'</b> end`;
    expect(suite.name).toBe(clean);
    expect(suite.testcase[0]).toMatchObject({ name: clean, failure: { message: clean, '#text': clean } });
  });

  it('when there are no runs, then the report is an empty <testsuites>', () => {
    expect(parse(junitXml([], links)).testsuites).toMatchObject({ tests: '0', failures: '0', time: '0.000' });
  });
});

describe('attempts', () => {
  const failedAt = (id: string, message: string) => runOf(id, 'failed', [action('call', 'failed', 1, message)], { error: { step: 'call', message } } as Partial<RunDetail>);
  const links = (r: RunDetail) => ({ run_url: `https://f.example/ui/runs/${r.id}` });

  it('when a run passed on its second attempt, then its suite says flaky and the first failure is a <flakyFailure> on the step', () => {
    const xml = parse(junitXml([{ run: runOf('r2', 'succeeded', [action('call', 'succeeded', 1)]), earlier: [failedAt('r1', 'boom')], flaky: true }], links));
    const [suite] = xml.testsuites.testsuite;
    expect(suite.properties.property).toEqual(expect.arrayContaining([{ name: 'flaky', value: 'true' }, { name: 'attempts', value: '2' }]));
    expect(suite.testcase[0].failure).toBeUndefined();
    expect(suite.testcase[0].flakyFailure).toMatchObject({ message: 'boom', type: 'failed', '#text': 'attempt 1 of 2 (run r1, https://f.example/ui/runs/r1) failed at call: boom' });
  });

  it('when a run failed on every attempt, then the last is the <failure> and the earlier ones are <rerunFailure>', () => {
    const xml = parse(junitXml([{ run: failedAt('r3', 'third'), earlier: [failedAt('r1', 'first'), failedAt('r2', 'second')], flaky: false }], links));
    const [suite] = xml.testsuites.testsuite;
    expect(suite.properties.property.find((p: Loose) => p.name === 'flaky')).toBeUndefined();
    const [call] = suite.testcase;
    expect(call.failure).toMatchObject({ message: 'third' });
    expect(call.rerunFailure.map((f: Loose) => f.message)).toEqual(['first', 'second']);
  });
});
