/**
 * The `flowruns` CLI's argument handling (apps/cli/src/main.ts) without a gateway: usage errors exit 2
 * with the reason, `flows validate` checks files offline and names the field, and `run` sends
 * what its flags say (to a loopback stub standing in for the gateway). The CLI against the real
 * stack is test/cli.test.ts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../apps/cli/src/main';
import { startStub, type Stub } from '../stub-server';

async function flowruns(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env, tty: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let dir: string;
let stub: Stub;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-cli-args-'));
  stub = await startStub();
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await stub.close();
});

describe('usage errors exit 2 with the reason', () => {
  it.each([
    [['run'], /name at least one --flow or --suite/],
    [['run', '--flow', 'f'], /missing --app <id>: the app to run against \(or set FLOWRUNS_APP\)/],
    [['run', '--flow', 'f', '--app', 'a'], /no API key: set FLOWRUNS_API_KEY or pass --api-key/],
    [['run', '--flow', 'f', '--max-parallel', '0', '--api-key', 'k'], /--max-parallel takes a whole number from 1 to 100/],
    [['run', '--flow', 'f', '--app', 'a', '--reporter', 'tap'], /--reporter takes github, got "tap"/],
    [['run', '--flow', 'f', '--timeout', 'soon'], /--timeout takes a whole number/],
    [['completion', 'fish'], /completion takes bash or zsh/],
    [['nonsense'], /unknown command 'nonsense'/],
    [['flows', 'validate'], /required option '-f, --file <path>' not specified/],
  ])('when the CLI is given %j, then it exits 2 saying why', async (argv, reason) => {
    const res = await flowruns(argv);
    expect(res.code).toBe(2);
    expect(res.err).toMatch(reason);
  });

  it('when asked for help, then it exits 0 and lists the commands', async () => {
    const res = await flowruns(['--help']);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/Usage: flowruns/);
    expect(res.out).toMatch(/\brun\b[\s\S]*\bflows\b/);
  });
});

describe('flows validate, offline', () => {
  it('when the files are valid JSON and YAML, then it exits 0 naming each flow', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'valid-'));
    fs.writeFileSync(path.join(sub, 'a.json'), JSON.stringify({ id: 'a', steps: [{ id: 's', type: 'delay', config: { durationMs: 1 } }] }));
    fs.writeFileSync(path.join(sub, 'b.yaml'), 'id: b\nsteps:\n  - id: t\n    type: transform\n    config:\n      expression: "1 + 1"\n');
    const res = await flowruns(['flows', 'validate', '-f', sub]);
    expect(res).toMatchObject({ code: 0 });
    expect(res.out.split('\n').sort()).toEqual([`✓ ${path.join(sub, 'a.json')}: flow a`, `✓ ${path.join(sub, 'b.yaml')}: flow b`]);
  });

  it('when a file breaks the schema, then it exits 1 naming the file, the field and the problem', async () => {
    const file = path.join(dir, 'broken.json');
    fs.writeFileSync(file, JSON.stringify({ id: 'broken', steps: [{ id: 's', type: 'transform', config: { expression: '$foo(' } }] }));
    const res = await flowruns(['flows', 'validate', '-f', file]);
    expect(res.code).toBe(1);
    expect(res.err).toContain(`${file}: steps.0.config.expression: expression does not parse`);
  });
});

describe('run', () => {
  it('when a batch is triggered, then the request carries the flags, an Idempotency-Key and the API key, and the batch id is printed', async () => {
    stub.setHandler(() => ({ status: 201, body: { batch_id: 'batch-9', status: 'queued', runs: [{ id: 'r1' }] } }));
    const res = await flowruns(['run', '--flow', 'a', '--flow', 'b', '--env', 'REGION=eu', '--env', 'EMPTY=', '--max-parallel', '3', '--browser', 'chromium'], {
      FLOWRUNS_URL: stub.url,
      FLOWRUNS_API_KEY: 'key-123',
      FLOWRUNS_APP: 'shop',
    });
    expect(res).toMatchObject({ code: 0, out: 'batch-9' });
    const req = stub.requests.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/v1/flows/run');
    expect(req.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(req.headers)).toContain('key-123');
    expect(req.body).toEqual({ app_id: 'shop', flow_ids: ['a', 'b'], env: { REGION: 'eu', EMPTY: '' }, browser: 'chromium', max_parallel: 3, source: 'ci' });
  });

  it.each([
    [{ GITHUB_RUN_ID: '77', GITHUB_RUN_ATTEMPT: '2' }, /^github-77-2-[0-9a-f]{16}$/],
    [{ CI_PIPELINE_ID: '5', CI_JOB_ID: '9' }, /^gitlab-5-9-[0-9a-f]{16}$/],
    [{ BUILD_TAG: 'jenkins-app-12' }, /^jenkins-jenkins-app-12-[0-9a-f]{16}$/],
  ])('when the CI names its run (%j), then the Idempotency-Key derives from it, the same for the same trigger', async (ci, key) => {
    stub.setHandler(() => ({ status: 201, body: { batch_id: 'batch-9', status: 'queued', runs: [] } }));
    const env = { FLOWRUNS_URL: stub.url, FLOWRUNS_API_KEY: 'k', ...ci };
    await flowruns(['run', '--app', 'shop', '--flow', 'a'], env);
    const first = stub.requests.at(-1)!.headers['idempotency-key'];
    expect(first).toMatch(key);
    await flowruns(['run', '--app', 'shop', '--flow', 'a'], env);
    expect(stub.requests.at(-1)!.headers['idempotency-key']).toBe(first);
    await flowruns(['run', '--app', 'shop', '--flow', 'a', '--idempotency-key', 'mine'], env);
    expect(stub.requests.at(-1)!.headers['idempotency-key']).toBe('mine');
  });
});

describe('completion', () => {
  it.each(['bash', 'zsh'])('when asked for a %s completion, then the script knows the commands and their flags', async (shell) => {
    const res = await flowruns(['completion', shell]);
    expect(res.code).toBe(0);
    expect(res.out).toContain('"run") candidates="--app --suite --flow');
    expect(res.out).toContain('"batches rerun") candidates="--failed');
    expect(res.out).toContain(shell === 'bash' ? 'complete -o default -F _flowruns flowruns' : '#compdef flowruns');
  });

  it('when bash completes after an option value, then it still knows the command', async () => {
    const script = (await flowruns(['completion', 'bash'])).out;
    const complete = (words: string[]) =>
      execFileSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _flowruns; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).trim();
    expect(complete(['flowruns', 'run', '--flow', 'checkout', '--re'])).toBe('--reporter --retries');
    expect(complete(['flowruns', 'batches', 're'])).toBe('rerun');
  });
});
