/**
 * The artifact store on an S3-compatible bucket: s3rver (a real S3 protocol server, npm `s3rver`)
 * on 127.0.0.1 over a temp directory, in a process of its own. The store alone (bytes, prefixes,
 * paging, traversal, the size cap, the configuration), then the real stack configured for the
 * bucket: a browser step's screenshot is written there, served by the API, and deleted with its
 * run, through the API and through the retention sweep.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { PNG } from 'pngjs';
import { loadConfig } from '../platform/config';
import { retentionScheduleId } from '../apps/worker/retention';
import { artifactKey, artifactStoreFor, directoryStore, s3Store, type ArtifactStore } from '../db/artifact-store';
import { runDetailWhenEnded, sweepRetentionNow, withStack, type Loose } from './harness';

const BUCKET = 'flowruns-artifacts';
let s3rver: ChildProcessWithoutNullStreams;
let s3Dir: string;
let endpoint: string;
let raw: S3Client;
const savedEnv = { ...process.env };

/**
 * s3rver in a child process: its ListObjectsV2 continuation tokens use DES, which Node's OpenSSL 3
 * keeps in the legacy provider; so its own process, started with that provider.
 */
async function startS3rver(dir: string): Promise<{ child: ChildProcessWithoutNullStreams; port: number }> {
  const script = `
    const S3rver = require(${JSON.stringify(require.resolve('s3rver'))});
    const server = new S3rver({ address: '127.0.0.1', port: 0, directory: process.env.S3_DIR, silent: true,
      configureBuckets: [{ name: process.env.S3_BUCKET, configs: [] }] });
    server.run().then((a) => console.log(JSON.stringify({ port: a.port })), (e) => { console.error(e); process.exit(1); });
    process.on('SIGTERM', () => server.close().then(() => process.exit(0)));`;
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', script], { env: { ...process.env, S3_DIR: dir, S3_BUCKET: BUCKET }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const m = /\{"port":(\d+)\}/.exec(out);
    if (m) return { child, port: Number(m[1]) };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`s3rver did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every object key in the bucket under `prefix` (the raw view, not the store's). */
async function objectKeys(prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < 100; page++) {
    const res = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(res.Contents ?? []).map((o) => o.Key!));
    if (!res.IsTruncated) return keys.sort();
    token = res.NextContinuationToken;
  }
  throw new Error('too many pages');
}

const png = (() => {
  const image = new PNG({ width: 16, height: 16 });
  for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 37) % 256;
  return PNG.sync.write(image);
})();

beforeAll(async () => {
  // The SDK's default credential chain reads these; no instance metadata lookups off loopback.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  s3Dir = mkdtempSync(path.join(os.tmpdir(), 'flowruns-s3-'));
  const started = await startS3rver(s3Dir);
  s3rver = started.child;
  endpoint = `http://127.0.0.1:${started.port}`;
  raw = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
});

afterAll(async () => {
  raw?.destroy();
  if (s3rver && s3rver.exitCode === null) {
    const exited = new Promise((r) => s3rver.once('exit', r));
    s3rver.kill('SIGTERM');
    await exited;
  }
  if (s3Dir) rmSync(s3Dir, { recursive: true, force: true });
  process.env = savedEnv;
});

describe('the S3 store', () => {
  let store: ArtifactStore & { destroy(): Promise<void> };
  beforeAll(() => {
    store = s3Store({ bucket: BUCKET, endpoint, region: 'us-east-1', prefix: 'unit/store' });
  });
  afterAll(() => store?.destroy());

  it('when a PNG is put, then it reads back byte for byte, under the prefix, and deleting its run removes that run only', async () => {
    const run = `r-${randomBytes(4).toString('hex')}`;
    await store.put(artifactKey('runs', run, 'login', 'home.png'), png);
    await store.put(artifactKey('runs', run, 'login', 'page.html'), Buffer.from('<p>hi</p>'));
    await store.put(artifactKey('runs', `${run}0`, 'login', 'home.png'), png); // a run whose id starts with the other's
    expect(Buffer.compare((await store.get(artifactKey('runs', run, 'login', 'home.png')))!, png)).toBe(0);
    expect(await store.get(artifactKey('runs', run, 'login', 'nope.png'))).toBeNull();
    expect(await objectKeys(`unit/store/runs/${run}`)).toEqual([
      `unit/store/runs/${run}/login/home.png`,
      `unit/store/runs/${run}/login/page.html`,
      `unit/store/runs/${run}0/login/home.png`,
    ]);

    await store.removeAll(artifactKey('runs', run));
    expect(await objectKeys(`unit/store/runs/${run}`)).toEqual([`unit/store/runs/${run}0/login/home.png`]);
    expect(await store.get(artifactKey('runs', run, 'login', 'home.png'))).toBeNull();
    await store.removeAll(artifactKey('runs', run)); // nothing left: no error
  });

  it('when a run has more than 1000 files, then deleting it lists and deletes them page by page', async () => {
    const run = `many-${randomBytes(4).toString('hex')}`;
    const n = 1003;
    for (let i = 0; i < n; i += 25)
      await Promise.all(Array.from({ length: Math.min(25, n - i) }, (_, j) => store.put(artifactKey('runs', run, 's', `f${i + j}.png`), Buffer.from([i + j]))));
    expect(await objectKeys(`unit/store/runs/${run}/`)).toHaveLength(n);
    await store.removeAll(artifactKey('runs', run));
    expect(await objectKeys(`unit/store/runs/${run}/`)).toEqual([]);

    // A small page size walks the continuation tokens several times.
    const small = s3Store({ bucket: BUCKET, endpoint, region: 'us-east-1', prefix: 'unit/store', pageSize: 2 });
    for (let i = 0; i < 5; i++) await small.put(artifactKey('runs', run, 's', `g${i}.png`), png);
    await small.removeAll(artifactKey('runs', run));
    expect(await objectKeys(`unit/store/runs/${run}/`)).toEqual([]);
    await small.destroy();
  });

  it('when a key could leave the prefix, then put, get and delete refuse it and nothing reaches the bucket', async () => {
    const before = await objectKeys();
    for (const key of ['../escape.png', 'runs/../../escape.png', 'runs/./x.png', '/runs/x.png', 'runs//x.png', 'runs/x/', 'runs/a\\b.png', 'runs/..', '.hidden', '']) {
      await expect(store.put(key, png)).rejects.toThrow('not a safe artifact key segment');
      await expect(store.get(key)).rejects.toThrow('not a safe artifact key segment');
      await expect(store.removeAll(key)).rejects.toThrow('not a safe artifact key segment');
    }
    expect(() => s3Store({ bucket: BUCKET, endpoint, region: 'us-east-1', prefix: 'a/../b' })).toThrow('not a safe artifact key segment');
    expect(await objectKeys()).toEqual(before);
  });

  it('when a file is larger than the cap, then reading it fails instead of buffering it', async () => {
    const capped = s3Store({ bucket: BUCKET, endpoint, region: 'us-east-1', prefix: 'unit/store', maxBytes: 1000 });
    await capped.put('big/file.bin', Buffer.alloc(4000, 1));
    await expect(capped.get('big/file.bin')).rejects.toThrow('is 4000 bytes, more than the store\'s cap of 1000');
    await capped.put('big/small.bin', Buffer.alloc(1000, 2));
    expect((await capped.get('big/small.bin'))!.byteLength).toBe(1000);
    await capped.removeAll('big');
    await capped.destroy();
  });

  it('when the configuration names a bucket, then the factory chooses it; without one, the directory', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowruns-art-'));
    try {
      const base = { FLOWRUNS_ARTIFACTS_DIR: dir };
      const plain = loadConfig(base);
      expect(plain.artifactsS3).toBeUndefined();
      expect(loadConfig({ ...base, FLOWRUNS_ARTIFACTS_S3_BUCKET: '' }).artifactsS3).toBeUndefined();
      await artifactStoreFor(plain).put('runs/x/s/a.png', png);
      expect(readdirSync(path.join(dir, 'runs', 'x', 's'))).toEqual(['a.png']);

      const config = loadConfig({ ...base, FLOWRUNS_ARTIFACTS_S3_BUCKET: BUCKET, FLOWRUNS_ARTIFACTS_S3_ENDPOINT: endpoint, FLOWRUNS_ARTIFACTS_S3_PREFIX: '/cfg/' });
      expect(config.artifactsS3).toEqual({ bucket: BUCKET, endpoint, region: 'us-east-1', prefix: 'cfg/' });
      expect(artifactStoreFor(config)).toBe(artifactStoreFor(config)); // one client per process
      await artifactStoreFor(config).put('runs/x/s/a.png', png);
      expect(await objectKeys('cfg/')).toEqual(['cfg/runs/x/s/a.png']);
      await artifactStoreFor(config).removeAll('runs/x');
      expect(await objectKeys('cfg/')).toEqual([]);

      expect(() => loadConfig({ FLOWRUNS_ARTIFACTS_S3_BUCKET: 'Not_A_Bucket' })).toThrow('FLOWRUNS_ARTIFACTS_S3_BUCKET');
      expect(() => loadConfig({ FLOWRUNS_ARTIFACTS_S3_BUCKET: BUCKET, FLOWRUNS_ARTIFACTS_S3_ENDPOINT: 'minio:9000' })).toThrow('FLOWRUNS_ARTIFACTS_S3_ENDPOINT');
      expect(() => loadConfig({ FLOWRUNS_ARTIFACTS_S3_BUCKET: BUCKET, FLOWRUNS_ARTIFACTS_S3_PREFIX: 'a/../b' })).toThrow('FLOWRUNS_ARTIFACTS_S3_PREFIX');
      // The directory store reads under the same cap.
      await directoryStore(dir, 10).put('runs/y/s/big.png', png);
      await expect(directoryStore(dir, 10).get('runs/y/s/big.png')).rejects.toThrow('more than the store\'s cap of 10');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the stack with its artifacts in the bucket', () => {
  let emptyDir: string;

  // The bucket's endpoint is known once s3rver runs (the file's beforeAll): the stack's env is read when it starts.
  const stack = withStack({
    env: () => {
      emptyDir = mkdtempSync(path.join(os.tmpdir(), 'flowruns-art-unused-'));
      return { FLOWRUNS_ARTIFACTS_S3_BUCKET: BUCKET, FLOWRUNS_ARTIFACTS_S3_ENDPOINT: endpoint, FLOWRUNS_ARTIFACTS_S3_PREFIX: 'e2e', FLOWRUNS_ARTIFACTS_DIR: emptyDir };
    },
    workers: true,
    stub: () => ({
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: '<!doctype html><html lang="en"><head><title>Box</title></head><body style="margin:0"><div style="width:320px;height:200px;background:teal"></div></body></html>',
    }),
    app: 'box',
    teardown: () => stack.client?.schedule.getHandle(retentionScheduleId(stack.config.taskQueue)).delete().catch(() => undefined),
  });

  afterAll(() => {
    if (emptyDir) rmSync(emptyDir, { recursive: true, force: true });
  });

  async function runFlow(flow: Loose): Promise<Loose> {
    const saved = await stack.call('POST', '/api/v1/flows', flow, stack.key);
    if (saved.status !== 201) throw new Error(`saving ${flow.id}: ${JSON.stringify(saved.body)}`);
    const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: [flow.id] }, stack.key);
    if (t.status !== 200) throw new Error(`triggering ${flow.id}: ${JSON.stringify(t.body)}`);
    const runId = t.body.runs[0].id;
    return runDetailWhenEnded(stack, runId, stack.key, 60_000);
  }

  it('when a browser step takes a screenshot, then the PNG lives in the bucket, the API serves it, and deleting the run deletes its objects', async () => {
    const run = await runFlow({
      id: 'box-shot',
      name: 'box',
      steps: [{ id: 'look', type: 'browser', config: { url: `${stack.stub.url}/`, viewport: '400,300', actions: [{ action: 'screenshot', name: 'box' }] } }],
    });
    expect(run.status).toBe('succeeded');
    const shotUrl = run.actions.find((a: Loose) => a.action === 'screenshot').screenshot_url;
    expect(shotUrl).toMatch(new RegExp(`/api/v1/runs/${run.id}/artifacts/screenshots/look/box\\.png$`));

    const [{ id: internalId, storage_key: storageKey }] = await stack.dataSource.query(
      `SELECT r.id, a.storage_key FROM runs r JOIN run_artifacts a ON a.run_id = r.id WHERE r.public_id = $1 AND a.name = 'box.png'`,
      [run.id],
    );
    expect(storageKey).toBe(`runs/${internalId}/look/box.png`);
    const objects = await objectKeys(`e2e/runs/${internalId}/`);
    expect(objects).toContain(`e2e/${storageKey}`);
    const inBucket = Buffer.from(await (await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: `e2e/${storageKey}` }))).Body!.transformToByteArray());

    const res = await fetch(shotUrl, { headers: { 'X-API-Key': stack.key } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const served = Buffer.from(await res.arrayBuffer());
    expect(Buffer.compare(served, inBucket)).toBe(0);
    const image = PNG.sync.read(served);
    expect([image.width, image.height]).toEqual([400, 300]);
    expect(readdirSync(emptyDir)).toEqual([]); // nothing went to the directory

    expect((await stack.call('DELETE', `/api/v1/flow-runs/${run.id}`, undefined, stack.key)).status).toBe(200);
    expect(await objectKeys(`e2e/runs/${internalId}/`)).toEqual([]);
    expect((await fetch(shotUrl, { headers: { 'X-API-Key': stack.key } })).status).toBe(404);
  });

  it('when the retention sweep deletes an old run, then its objects in the bucket go with it', async () => {
    const run = await runFlow({ id: 'old-one', name: 'old', steps: [{ id: 'x', type: 'transform', config: { expression: '1' } }] });
    expect(run.status).toBe('succeeded');
    const [{ id }] = await stack.dataSource.query('SELECT id FROM runs WHERE public_id = $1', [run.id]);
    const store = artifactStoreFor(stack.config);
    await store.put(artifactKey('runs', id, 'x', 'shot.png'), png);
    await store.put(artifactKey('runs', id, 'x', 'page.html'), Buffer.from('<p>old</p>'));
    expect(await objectKeys(`e2e/runs/${id}/`)).toHaveLength(2);
    await stack.dataSource.query(`UPDATE runs SET finished_at = now() - interval '400 days' WHERE id = $1`, [id]);

    await sweepRetentionNow(stack);
    expect(await stack.dataSource.query('SELECT id FROM runs WHERE id = $1', [id])).toEqual([]);
    expect(await objectKeys(`e2e/runs/${id}/`)).toEqual([]);
  });
});
