import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../apps/dev/postgres';
import { resolveTemporalBinary, startTemporalDevServer } from '../apps/dev/temporal';
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
