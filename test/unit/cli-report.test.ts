/**
 * The CLI's reports on hand-made results (apps/cli/src/reporters/report.ts): GitHub annotations
 * escaped as workflow commands want, the step summary table, flaky runs in the text lines; and
 * the client's event stream parsed as the SSE standard says (multi-line data, comments, CRLF),
 * from a loopback stub.
 */
import type { RunDetail } from '../../apps/cli/src/client';
import { FlowRunsClient } from '../../apps/cli/src/client';
import { resultOf, verdictOf, type Outcome } from '../../apps/cli/src/outcome';
import { githubAnnotations, githubSummary, jsonReport, textLines } from '../../apps/cli/src/reporters/report';
import { startStub, type Stub } from '../stub-server';

type Action = RunDetail['actions'][number];
const action = (step_id: string, status: string, error: string | null = null): Action =>
  ({ step_id, name: `Step ${step_id}`, type: 'http', status, started_at: null, finished_at: null, duration_ms: 5, attempts: 1, output: null, error, screenshot_url: null }) as Action;
const run = (id: string, status: RunDetail['status'], actions: Action[], error: RunDetail['error'] = null): RunDetail =>
  ({ id, batch_id: 'b1', flow_id: 'checkout', flow_name: 'Checkout', status, created_at: '2026-01-01T00:00:00.000Z', started_at: null, duration_ms: 2500, error, actions, artifacts: {} }) as RunDetail;

const base = 'https://flows.example.com';
const outcomeOf = (...attempts: RunDetail[][]): Outcome => {
  const results = attempts.map(resultOf);
  return { batchId: 'b1', verdict: verdictOf(results), results, base };
};

describe('reports', () => {
  const failed = run('r1', 'failed', [action('a', 'succeeded'), action('b', 'failed', 'expected 200,\ngot 500: 100%'), action('c', 'skipped')], { step: 'b', message: 'expected 200' });
  const flakyFirst = run('r2', 'failed', [action('x', 'failed', 'timeout')], { step: 'x', message: 'timeout' });
  const flakyThen = run('r3', 'succeeded', [action('x', 'succeeded')]);

  it('when a step failed, then GitHub gets one ::error per failed step, its message escaped; a flaky run a ::warning', () => {
    expect(githubAnnotations(outcomeOf([failed], [flakyFirst, flakyThen]))).toEqual([
      '::error title=Checkout › Step b::expected 200,%0Agot 500: 100%25',
      `::warning title=Checkout (flaky)::passed on attempt 2; attempt 1 failed at Step x: timeout — ${base}/ui/runs/r3`,
    ]);
  });

  it('when a title holds a colon or a comma, then it is escaped as a property', () => {
    const odd = run('r4', 'failed', [{ ...action('a', 'failed', 'no'), name: 'Login: user, admin' }]);
    expect(githubAnnotations(outcomeOf([odd]))).toEqual(['::error title=Checkout › Login%3A user%2C admin::no']);
  });

  it('when the summary is written, then it is a heading and a table of runs with status, duration and page', () => {
    expect(githubSummary(outcomeOf([failed], [flakyFirst, flakyThen])).split('\n')).toEqual([
      '### Flow Runs: failed',
      '',
      'Batch `b1` — 2 run(s)',
      '',
      '| Flow | Status | Duration | Run |',
      '| --- | --- | --- | --- |',
      `| Checkout | ❌ failed — b: expected 200 | 2.5 s | [r1](${base}/ui/runs/r1) |`,
      `| Checkout | ⚠️ flaky | 2.5 s | [r3](${base}/ui/runs/r3) |`,
      '',
      '',
    ]);
  });

  it('when a run passed on a retry, then the text and JSON say flaky and keep each attempt', () => {
    const outcome = outcomeOf([flakyFirst, flakyThen]);
    expect(outcome.verdict).toBe('flaky');
    expect(textLines(outcome)).toEqual([`≈ Checkout flaky — passed on attempt 2; attempt 1 failed at Step x: timeout ${base}/ui/runs/r3`, 'verdict: flaky']);
    const json = JSON.parse(jsonReport(outcome));
    expect(json).toMatchObject({ verdict: 'flaky', flaky: 1, runs: [{ id: 'r3', flaky: true, url: `${base}/ui/runs/r3` }] });
    expect(json.runs[0].attempts).toEqual([
      { id: 'r2', status: 'failed', error: { step: 'x', message: 'timeout' }, url: `${base}/ui/runs/r2` },
      { id: 'r3', status: 'succeeded', error: null, url: `${base}/ui/runs/r3` },
    ]);
  });
});

describe('event stream', () => {
  let stub: Stub;
  beforeAll(async () => {
    stub = await startStub();
  });
  afterAll(() => stub.close());

  it('when frames have multi-line data, comments and CRLF, then each event is parsed whole and the stream ends at batch.finished', async () => {
    const body = [
      ': a comment\r\n',
      'id: 1\r\nevent: run.started\r\ndata: {"run_id":"r1",\r\ndata: "status":"running"}\r\n\r\n',
      'id: 2\nevent: log\ndata: {"run_id":"r1","message":"two\\nlines"}\n\n',
      'id: 3\nevent: batch.finished\ndata: {"run_id":"","status":"succeeded"}\n\n',
      'id: 4\nevent: log\ndata: {"run_id":"never"}\n\n',
    ].join('');
    stub.setHandler(() => ({ headers: { 'Content-Type': 'text/event-stream' }, body }));
    const client = new FlowRunsClient({ baseUrl: stub.url, apiKey: 'k' });
    const seen = [];
    for await (const e of client.events('batches', 'b1')) seen.push(e);
    expect(seen.map((e) => [e.id, e.event])).toEqual([
      ['1', 'run.started'],
      ['2', 'log'],
      ['3', 'batch.finished'],
    ]);
    expect(seen[0].data).toEqual({ run_id: 'r1', status: 'running' });
    expect(seen[1].data.message).toBe('two\nlines');
  });
});
