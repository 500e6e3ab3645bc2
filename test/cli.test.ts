/**
 * The `flowruns` CLI as a CI job runs it (`node bin/flowruns.js …`, a process of its own) against
 * the real stack: exit codes, a JUnit report read with a real XML parser, idempotent `flows apply`,
 * offline validation, and the run commands.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { withStack, type Loose } from './harness';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-cli-'));

const stack = withStack({
  workers: true,
  stub: (req) => (req.url === '/down' ? { status: 503, body: { down: true } } : { body: { ok: true } }),
  app: 'shop',
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function flowruns(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(__dirname, '..', 'bin', 'flowruns.js'), ...args],
      { env: { ...process.env, FLOWRUNS_URL: stack.baseUrl, FLOWRUNS_API_KEY: stack.key, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 99) : 0, stdout, stderr }),
    );
  });
}

function write(name: string, content: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

const parse = (xml: string): Loose => new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name) }).parse(xml);

it('when flows are applied twice, then the second apply changes nothing; validate checks offline and names the field', async () => {
  const flowsDir = path.join(dir, 'flows');
  fs.mkdirSync(flowsDir);
  write('flows/passing.json', {
    id: 'passing',
    name: 'Passing flow',
    steps: [
      { id: 'call', name: 'Call the shop', type: 'http', config: { url: `${stack.stub.url}/ok` } },
      { id: 'count', name: 'Count', type: 'transform', config: { expression: '1 + 1' } },
    ],
  });
  write('flows/failing.yaml', `id: failing\nname: Failing flow\nsteps:\n  - id: ok\n    name: Works\n    type: transform\n    config: { expression: "1" }\n  - id: down\n    name: Service is down\n    type: http\n    retry: { maxAttempts: 1 }\n    config: { url: "${stack.stub.url}/down" }\n  - id: after\n    name: Never reached\n    type: transform\n    config: { expression: "2" }\n`);

  const first = await flowruns(['flows', 'apply', '-f', flowsDir]);
  expect(first).toMatchObject({ code: 0 });
  expect(first.stdout).toContain('+ failing created (version 1)');
  expect(first.stdout).toContain('+ passing created (version 1)');
  const second = await flowruns(['flows', 'apply', '-f', flowsDir]);
  expect(second.code).toBe(0);
  expect(second.stdout.trim().split('\n').sort()).toEqual(['= failing unchanged (version 1)', '= passing unchanged (version 1)']);
  expect((await stack.call('GET', '/api/v1/flows/passing', undefined, stack.key)).body.version).toBe(1);

  const broken = write('broken.json', { id: 'broken', steps: [{ id: 'x', type: 'transform', config: { expression: '1 +' } }] });
  const invalid = await flowruns(['flows', 'validate', '-f', broken], { FLOWRUNS_API_KEY: '' });
  expect(invalid.code).toBe(1);
  expect(invalid.stderr).toContain('steps.0.config.expression');
  expect((await flowruns(['flows', 'validate', '-f', flowsDir], { FLOWRUNS_API_KEY: '' })).code).toBe(0);
});

it('when a passing batch is run with --wait --junit, then the CLI exits 0 and the report has one suite with a testcase per step', async () => {
  const report = path.join(dir, 'pass.xml');
  const res = await flowruns(['run', '--app', stack.appId, '--flow', 'passing', '--wait', '--junit', report]);
  expect(res.stderr).toContain('Passing flow succeeded');
  expect(res.code).toBe(0);
  const xml = parse(fs.readFileSync(report, 'utf8'));
  expect(xml.testsuites).toMatchObject({ tests: '2', failures: '0' });
  const [suite] = xml.testsuites.testsuite;
  expect(suite.name).toBe('Passing flow');
  expect(suite.testcase.map((t: Loose) => t.name)).toEqual(['Call the shop', 'Count']);
  expect(Number(suite.testcase[0].time)).toBeGreaterThanOrEqual(0);
  expect(suite.properties.property.find((p: Loose) => p.name === 'run_url').value).toMatch(/\/ui\/runs\//);
});

it('when a batch with a failing run is run, then the CLI exits 1 and the JUnit failure is on the failed step, the step after it skipped', async () => {
  const report = path.join(dir, 'fail.xml');
  const res = await flowruns(['run', '--app', stack.appId, '--flow', 'passing', '--flow', 'failing', '--wait', '--junit', report, '--env', 'WHO=ci']);
  expect(res.code).toBe(1);
  const xml = parse(fs.readFileSync(report, 'utf8'));
  expect(xml.testsuites).toMatchObject({ tests: '5', failures: '1', skipped: '1' });
  const failing = xml.testsuites.testsuite.find((s: Loose) => s.name === 'Failing flow');
  const [works, down, after] = failing.testcase;
  expect(works.failure).toBeUndefined();
  expect(down).toMatchObject({ name: 'Service is down', failure: { message: expect.stringContaining('503'), type: 'failed' } });
  expect(after).toMatchObject({ name: 'Never reached', skipped: '' });
});

it('when a flag is wrong or a key is missing, then the CLI exits 2 with the reason; API errors show their detail', async () => {
  const bad = await flowruns(['run', '--no-such-flag']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/unknown option/);
  expect((await flowruns(['run', '--flow', 'passing'], { FLOWRUNS_API_KEY: '' })).code).toBe(2);
  const unknown = await flowruns(['run', '--app', stack.appId, '--flow', 'no-such-flow']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/404.*flow no-such-flow not found/);
});

it('when runs are listed, fetched, rerun and their logs read, then the commands show them', async () => {
  const started = await flowruns(['run', '--app', stack.appId, '--flow', 'passing', '--json', '--wait']);
  expect(started.code).toBe(0);
  const runId = JSON.parse(started.stdout).runs[0].id;
  expect((await flowruns(['runs', 'list', '--flow', 'passing'])).stdout).toContain(runId);
  expect(JSON.parse((await flowruns(['runs', 'get', runId])).stdout)).toMatchObject({ id: runId, status: 'succeeded' });
  expect((await flowruns(['runs', 'logs', runId])).stdout).toMatch(/run succeeded/);
  expect((await flowruns(['runs', 'logs', runId, '--follow'])).stdout).toMatch(/run succeeded/);
  const rerun = await flowruns(['runs', 'rerun', runId]);
  expect(rerun.code).toBe(0);
  expect(rerun.stdout).toContain(`rerun of ${runId}`);
});
