/**
 * The batch belongs to the CI job (`flowruns`, a process of its own, against the real stack):
 * SIGINT mid-wait and `--timeout` cancel the batch and exit 1 saying why; `--retries` reruns a
 * failed run and a run passing on a retry is flaky in the text, JSON and JUnit outputs;
 * `batches rerun --failed`, `batches watch` and `batches cancel` work on an existing batch;
 * `--artifacts` downloads a browser step's files and JUnit attaches them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually, withStack, type Loose } from './harness';
import { batchIdOf, CHECKOUT_BIN, parseJunit, runCli, startCli } from './cli-process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-cli-wait-'));
/** Requests to /flaky/<name> seen so far, per name: the first of each fails. */
const seen = new Map<string, number>();

const stack = withStack({
  workers: true,
  stub: (req) => {
    if (req.url === '/down') return { status: 503, body: { down: true } };
    if (req.url === '/page') return { headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<!doctype html><html><head><title>Shop</title></head><body><h1>Hello</h1></body></html>' };
    const flaky = /^\/flaky\/(\w+)/.exec(req.url);
    if (flaky) {
      const n = (seen.get(flaky[1]) ?? 0) + 1;
      seen.set(flaky[1], n);
      return n === 1 ? { status: 500, body: { first: 'fails' } } : { body: { ok: n } };
    }
    return { body: { ok: true } };
  },
  app: 'shop',
});

beforeAll(async () => {
  const http = (id: string, url: string) => ({ id, name: `Call ${id}`, type: 'http', retry: { maxAttempts: 1 }, config: { url } });
  const flows = [
    { id: 'gate', name: 'Needs approval', steps: [{ id: 'ok', name: 'Approve', type: 'approval', config: {} }] },
    { id: 'flaky', name: 'Flaky flow', steps: [http('first', `${stack.stub.url}/ok`), http('shaky', `${stack.stub.url}/flaky/json`)] },
    { id: 'flaky-junit', name: 'Flaky junit', steps: [http('shaky', `${stack.stub.url}/flaky/junit`)] },
    { id: 'passing', name: 'Passing flow', steps: [http('call', `${stack.stub.url}/ok`)] },
    { id: 'failing', name: 'Failing flow', steps: [http('down', `${stack.stub.url}/down`)] },
    {
      id: 'page',
      name: 'Shop page',
      steps: [{ id: 'look', name: 'Look at the page', type: 'browser', retry: { maxAttempts: 1 }, config: { url: `${stack.stub.url}/page`, actions: [{ action: 'screenshot', name: 'home' }, { action: 'expect', selector: 'h1', text: 'Goodbye' }] } }],
    },
  ];
  for (const f of flows) expect((await stack.call('POST', '/api/v1/flows', f, stack.key)).status).toBe(201);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ FLOWRUNS_URL: stack.baseUrl, FLOWRUNS_API_KEY: stack.key, FLOWRUNS_APP: stack.appId });
const flowruns = (args: string[]) => runCli(CHECKOUT_BIN, args, env());
const batch = async (id: string): Promise<Loose> => (await stack.call('GET', `/api/v1/runs/status?batch_id=${id}`, undefined, stack.key)).body;
const ended = (id: string) => eventually(() => batch(id), (b) => b.is_complete, 30_000);

it('when the job gets SIGINT while waiting, then the CLI cancels the batch and exits 1 saying why', async () => {
  const cli = startCli(CHECKOUT_BIN, ['run', '--flow', 'gate', '--wait'], env());
  const stderr = await cli.saw('waiting for approval');
  cli.signal('SIGINT');
  const res = await cli.done;
  expect(res.code).toBe(1);
  expect(res.stderr).toContain('SIGINT received: cancelling batch');
  expect(res.stdout).toContain('verdict: cancelled (SIGINT received)');
  expect(await ended(batchIdOf(stderr))).toMatchObject({ status: 'cancelled', runs: [{ status: 'cancelled' }] });
});

it('when --timeout runs out on a waiting approval, then the CLI cancels the batch and exits 1', async () => {
  const res = await flowruns(['run', '--flow', 'gate', '--timeout', '5', '--json']);
  expect(res.code).toBe(1);
  expect(res.stderr).toContain('--timeout 5s reached: cancelling batch');
  const report = JSON.parse(res.stdout);
  expect(report).toMatchObject({ verdict: 'timed_out', reason: '--timeout 5s reached' });
  expect(await ended(report.batch_id)).toMatchObject({ status: 'cancelled' });
});

it('when a run fails once then passes with --retries 2, then it exits 0 and the run is flaky in the text and JSON output', async () => {
  const text = await flowruns(['run', '--flow', 'flaky', '--flow', 'passing', '--retries', '2']);
  expect(text.code).toBe(0);
  expect(text.stderr).toMatch(/retry 1 of 2: Flaky flow again as batch \S+/);
  const lines = text.stdout.split('\n').filter(Boolean);
  expect(lines[0]).toMatch(/^≈ Flaky flow flaky — passed on attempt 2; attempt 1 failed at Call shaky: .*500.* http:\/\/\S+\/ui\/runs\/\S+$/);
  expect(lines[1]).toMatch(/^✓ Passing flow succeeded /);
  expect(lines[2]).toBe('verdict: flaky');

  seen.delete('json');
  const json = await flowruns(['run', '--flow', 'flaky', '--retries', '2', '--json']);
  expect(json.code).toBe(0);
  const report = JSON.parse(json.stdout);
  expect(report).toMatchObject({ verdict: 'flaky', flaky: 1 });
  const [run] = report.runs;
  expect(run).toMatchObject({ status: 'succeeded', flaky: true, rerun_of: run.attempts[0].id });
  expect(run.attempts.map((a: Loose) => a.status)).toEqual(['failed', 'succeeded']);
  expect(run.attempts[0].error.message).toMatch(/500/);
});

it('when a flaky run is reported as JUnit, then its suite has the flaky property and the first failure as <flakyFailure>, with each step log in <system-out>', async () => {
  const report = path.join(dir, 'flaky.xml');
  const res = await flowruns(['run', '--flow', 'flaky-junit', '--retries', '2', '--junit', report]);
  expect(res.code).toBe(0);
  const xml = parseJunit(fs.readFileSync(report, 'utf8'));
  const [suite] = xml.testsuites.testsuite;
  const props = Object.fromEntries(suite.properties.property.map((p: Loose) => [p.name, p.value]));
  expect(props).toMatchObject({ flaky: 'true', attempts: '2', status: 'succeeded' });
  expect(props.run_url).toBe(`${stack.baseUrl}/ui/runs/${props.run_id}`);
  const [shaky] = suite.testcase;
  expect(shaky.failure).toBeUndefined();
  expect(shaky.flakyFailure).toHaveLength(1);
  expect(shaky.flakyFailure[0]).toMatchObject({ message: expect.stringContaining('500'), type: 'failed' });
  expect(shaky.flakyFailure[0]['#text']).toMatch(/^attempt 1 of 2 \(run \S+, http:\/\/\S+\/ui\/runs\/\S+\) failed at Call shaky: /);
  expect(shaky['system-out']).toContain(`run: ${props.run_url}`);
  expect(shaky['system-out']).toMatch(/step shaky/);
});

it('when a batch with a failed run is rerun with --failed, then the new batch has only that run; watch follows it and exits 1; cancel answers', async () => {
  const first = await flowruns(['run', '--flow', 'passing', '--flow', 'failing', '--wait']);
  expect(first.code).toBe(1);
  const batchId = batchIdOf(first.stderr);
  const old = await batch(batchId);
  const failedRun = old.runs.find((r: Loose) => r.flow_id === 'failing');

  const rerun = await flowruns(['batches', 'rerun', batchId, '--failed']);
  expect(rerun.code).toBe(0);
  const newBatch = rerun.stdout.trim();
  expect(rerun.stderr).toContain(`(rerun of ${failedRun.id})`);
  const watched = await flowruns(['batches', 'watch', newBatch]);
  expect(watched.code).toBe(1);
  expect(watched.stdout).toMatch(/^✗ Failing flow failed/m);
  const again = await batch(newBatch);
  expect(again.runs.map((r: Loose) => r.flow_id)).toEqual(['failing']);

  const gate = await flowruns(['run', '--flow', 'gate']);
  const gateBatch = gate.stdout.trim();
  const cancelled = await flowruns(['batches', 'cancel', gateBatch]);
  expect(cancelled.code).toBe(0);
  expect(await ended(gateBatch)).toMatchObject({ status: 'cancelled' });
});

it('when a browser step fails with --artifacts and --junit, then its screenshot and trace are under DIR/<runId>/ and attached to its testcase', async () => {
  const artifacts = path.join(dir, 'artifacts');
  const report = path.join(dir, 'browser.xml');
  const res = await flowruns(['run', '--flow', 'page', '--artifacts', artifacts, '--junit', report]);
  expect(res.code).toBe(1);
  const xml = parseJunit(fs.readFileSync(report, 'utf8'));
  const [suite] = xml.testsuites.testsuite;
  const runId = suite.properties.property.find((p: Loose) => p.name === 'run_id').value;
  const shot = path.resolve(artifacts, runId, 'look', 'home.png');
  expect(fs.readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
  const [look] = suite.testcase;
  expect(look).toMatchObject({ name: 'Look at the page', failure: { type: 'failed' } });
  expect(look['system-out']).toContain(`[[ATTACHMENT|${shot}]]`);
  const detail = (await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key)).body;
  expect(detail.actions[0].trace_url).toMatch(/\/look\/trace\.zip$/);
  const trace = path.resolve(artifacts, runId, 'look', 'trace.zip');
  expect(fs.readFileSync(trace).subarray(0, 2).toString()).toBe('PK');
  expect(look['system-out']).toContain(`[[ATTACHMENT|${trace}]]`);
});
