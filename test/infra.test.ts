import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../apps/dev/postgres';
import { cachedBinaryPath, resolveTemporalBinary, startTemporalDevServer, TEMPORAL_CLI_VERSION } from '../apps/dev/temporal';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const tmpDirs: string[] = [];
function tmpDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `flowruns-infra-${prefix}-`));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function script(file: string, body: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\nPATH=/usr/local/bin:/usr/bin:/bin\n${body}\n`, { mode: 0o755 });
  return file;
}

/** A fake `go` that records each call and, like `go install`, drops a `temporal` into $GOBIN. */
function fakeGo(binDir: string, options: { fail?: boolean; delaySeconds?: number } = {}): { calls: () => string[] } {
  const callsFile = path.join(binDir, 'go-calls');
  const build = options.fail
    ? 'echo partial > "$GOBIN/temporal"; echo "build failed" >&2; exit 1'
    : 'printf "#!/bin/sh\\necho fake temporal\\n" > "$GOBIN/temporal"; chmod +x "$GOBIN/temporal"';
  script(path.join(binDir, 'go'), `echo "$*" >> "${callsFile}"\nsleep ${options.delaySeconds ?? 0}\n${build}`);
  return { calls: () => (fs.existsSync(callsFile) ? fs.readFileSync(callsFile, 'utf8').trim().split('\n').filter(Boolean) : []) };
}

describe('resolveTemporalBinary', () => {
  const quiet = { log: () => undefined };

  test('when TEMPORAL_CLI_PATH is set, then it wins over PATH and the cache', async () => {
    const root = tmpDir('resolve');
    const explicit = script(path.join(root, 'explicit', 'temporal'), 'echo explicit');
    const onPath = script(path.join(root, 'path', 'temporal'), 'echo path');
    const env = { TEMPORAL_CLI_PATH: explicit, PATH: path.dirname(onPath), FLOWRUNS_CACHE_DIR: path.join(root, 'cache') };
    script(cachedBinaryPath(env), 'echo cached');

    await expect(resolveTemporalBinary({ env, ...quiet })).resolves.toBe(explicit);
  });

  test('when TEMPORAL_CLI_PATH is not an executable, then resolving fails naming it', async () => {
    const root = tmpDir('resolve');
    const env = { TEMPORAL_CLI_PATH: path.join(root, 'missing'), PATH: '', FLOWRUNS_CACHE_DIR: root };

    await expect(resolveTemporalBinary({ env, ...quiet })).rejects.toThrow(/TEMPORAL_CLI_PATH/);
  });

  test('when temporal is on PATH, then it wins over the cache', async () => {
    const root = tmpDir('resolve');
    const onPath = script(path.join(root, 'path', 'temporal'), 'echo path');
    const env = { PATH: `${path.join(root, 'empty')}${path.delimiter}${path.dirname(onPath)}`, FLOWRUNS_CACHE_DIR: path.join(root, 'cache') };
    script(cachedBinaryPath(env), 'echo cached');

    await expect(resolveTemporalBinary({ env, ...quiet })).resolves.toBe(onPath);
  });

  test('when only the cache holds the binary, then it is reused without invoking go', async () => {
    const root = tmpDir('resolve');
    const bin = path.join(root, 'bin');
    const go = fakeGo(bin);
    const env = { PATH: bin, FLOWRUNS_CACHE_DIR: path.join(root, 'cache') };
    const cached = script(cachedBinaryPath(env), 'echo cached');

    await expect(resolveTemporalBinary({ env, ...quiet })).resolves.toBe(cached);
    expect(go.calls()).toEqual([]);
  });

  test('when the cache is empty and go is present, then it is built once with go install and reused', async () => {
    const root = tmpDir('resolve');
    const bin = path.join(root, 'bin');
    const go = fakeGo(bin, { delaySeconds: 1 });
    const env = { PATH: bin, FLOWRUNS_CACHE_DIR: path.join(root, 'cache') };

    const [first, concurrent] = await Promise.all([resolveTemporalBinary({ env, ...quiet }), resolveTemporalBinary({ env, ...quiet })]);
    const again = await resolveTemporalBinary({ env, ...quiet });

    const expected = path.join(root, 'cache', `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal');
    expect([first, concurrent, again]).toEqual([expected, expected, expected]);
    expect(go.calls()).toEqual([`install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`]);
    expect(fs.readdirSync(path.dirname(expected)).filter((f) => f.startsWith('.build'))).toEqual([]);
  });

  test('when the go build fails, then no binary is left in the cache and the error shows the build output', async () => {
    const root = tmpDir('resolve');
    const bin = path.join(root, 'bin');
    fakeGo(bin, { fail: true });
    const env = { PATH: bin, FLOWRUNS_CACHE_DIR: path.join(root, 'cache') };

    await expect(resolveTemporalBinary({ env, ...quiet })).rejects.toThrow(/build failed/);
    expect(fs.existsSync(cachedBinaryPath(env))).toBe(false);
  });

  test('when FLOWRUNS_CACHE_DIR is unset, then the cache follows XDG_CACHE_HOME', () => {
    expect(cachedBinaryPath({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).toBe(`/x/cache/flowruns/temporal-${TEMPORAL_CLI_VERSION}/temporal`);
    expect(cachedBinaryPath({ HOME: '/home/u' })).toBe(`/home/u/.cache/flowruns/temporal-${TEMPORAL_CLI_VERSION}/temporal`);
  });
});

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('startEmbeddedPostgres', () => {
  test('when stopped and started again on the same dir, then the data is still there', async () => {
    const dir = path.join(tmpDir('pg'), 'pg');
    const first = await startEmbeddedPostgres({ dir, port: 0 });
    try {
      await query(first.url, 'CREATE TABLE kept (v text)');
      await query(first.url, 'INSERT INTO kept VALUES ($1)', ['survives']);
    } finally {
      await first.stop();
    }

    const second = await startEmbeddedPostgres({ dir, port: 0 });
    try {
      expect(second.url).toMatch(/\/flowruns$/);
      await expect(query(second.url, 'SELECT v FROM kept')).resolves.toEqual([{ v: 'survives' }]);
    } finally {
      await second.stop();
    }
  });

  test('when the process that started it was killed, then the next start takes over the data dir', async () => {
    const root = tmpDir('pg');
    const dir = path.join(root, 'pg');
    const starter = path.join(root, 'starter.ts');
    fs.writeFileSync(
      starter,
      `import { startEmbeddedPostgres } from ${JSON.stringify(path.resolve(__dirname, '../apps/dev/postgres'))};\n` +
        `void startEmbeddedPostgres({ dir: ${JSON.stringify(dir)}, port: 0 }).then((pg) => {\n` +
        `  process.stdout.write('ready ' + pg.url + '\\n');\n` +
        `  setInterval(() => undefined, 1000);\n` +
        `});\n`,
    );
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), starter], { stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        const match = /ready (\S+)/.exec(chunk.toString());
        if (match?.[1]) resolve(match[1]);
      });
      child.on('exit', (code) => reject(new Error(`starter exited with ${code}`)));
    });
    await query(url, 'CREATE TABLE kept (v text)');
    await query(url, "INSERT INTO kept VALUES ('before crash')");
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const restarted = await startEmbeddedPostgres({ dir, port: 0 });
    try {
      await expect(query(restarted.url, 'SELECT v FROM kept')).resolves.toEqual([{ v: 'before crash' }]);
    } finally {
      await restarted.stop();
    }
  });

  test('when a stale postmaster.pid names a dead process, then start is not blocked', async () => {
    const dir = path.join(tmpDir('pg'), 'pg');
    await (await startEmbeddedPostgres({ dir, port: 0 })).stop();
    const dead = spawn('true');
    await new Promise((resolve) => dead.once('exit', resolve));
    fs.writeFileSync(path.join(dir, 'postmaster.pid'), `${dead.pid}\n${dir}\n`);

    const pg = await startEmbeddedPostgres({ dir, port: 0 });
    try {
      await expect(query(pg.url, 'SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
    } finally {
      await pg.stop();
    }
  });
});

describe('startTemporalDevServer', () => {
  test('when restarted on the same db file, then workflows and search attributes are kept', async () => {
    const binary = process.env.FLOWRUNS_TEST_TEMPORAL_BINARY ?? (await resolveTemporalBinary());
    const root = tmpDir('temporal');
    const options = { binary, port: 0, headless: true, namespace: 'default', dbFile: path.join(root, 'temporal.db'), logFile: path.join(root, 'temporal.log') };
    const workflowId = `infra-persist-${Date.now()}`;

    const first = await startTemporalDevServer(options);
    try {
      const connection = await Connection.connect({ address: first.address });
      await new TemporalClient({ connection }).workflow.start('neverPolled', { taskQueue: `infra-${workflowId}`, workflowId, args: [] });
      await connection.close();
    } finally {
      await first.stop();
    }

    const second = await startTemporalDevServer(options);
    try {
      const connection = await Connection.connect({ address: second.address });
      const description = await new TemporalClient({ connection }).workflow.getHandle(workflowId).describe();
      const attributes = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      await connection.close();

      expect(description.status.name).toBe('RUNNING');
      expect(Object.keys(attributes.customAttributes ?? {})).toEqual(expect.arrayContaining(SEARCH_ATTRIBUTES.map((a) => a.name)));
    } finally {
      await second.stop();
    }
  });
});
