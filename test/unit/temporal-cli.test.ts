/**
 * Finding the `temporal` CLI (apps/dev/temporal.ts): TEMPORAL_CLI_PATH, else PATH, else the
 * cache; else downloaded into the cache, and built with Go only when the download fails. Fake
 * downloads and a fake `go`: nothing here leaves loopback.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cachedBinaryPath, downloadWithSdk, resolveTemporalBinary, TEMPORAL_CLI_VERSION, type CliDownload } from '../../apps/dev/temporal-cli';
import { freePort } from '../../apps/dev/processes';

const tmpDirs: string[] = [];
function tmpDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `flowruns-cli-${prefix}-`));
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

/** A fake download: fails (as one with no route does) or writes a binary, counting its calls. */
function fakeDownload(outcome: 'fails' | 'works', delayMs = 0): CliDownload & { calls: number } {
  const download = async (target: string): Promise<void> => {
    download.calls++;
    await new Promise((r) => setTimeout(r, delayMs));
    if (outcome === 'fails') throw new Error('temporal.download unreachable (ENOTFOUND)');
    script(target, 'echo downloaded temporal');
  };
  download.calls = 0;
  return download;
}

function logged(): { log: (m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { log: (m) => lines.push(m), lines };
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

  test('when only the cache holds the binary, then it is reused without downloading or invoking go', async () => {
    const root = tmpDir('resolve');
    const bin = path.join(root, 'bin');
    const go = fakeGo(bin);
    const download = fakeDownload('works');
    const env = { PATH: bin, FLOWRUNS_CACHE_DIR: path.join(root, 'cache') };
    const cached = script(cachedBinaryPath(env), 'echo cached');

    await expect(resolveTemporalBinary({ env, download, ...quiet })).resolves.toBe(cached);
    expect(go.calls()).toEqual([]);
    expect(download.calls).toBe(0);
  });

  test('when the cache is empty and the download works, then go is not run and the log says what ran and how long it took', async () => {
    const root = tmpDir('resolve');
    const bin = path.join(root, 'bin');
    const go = fakeGo(bin);
    const download = fakeDownload('works', 300);
    const env = { PATH: bin, FLOWRUNS_CACHE_DIR: path.join(root, 'cache') };
    const { log, lines } = logged();

    const [first, concurrent] = await Promise.all([resolveTemporalBinary({ env, download, log }), resolveTemporalBinary({ env, download, log })]);

    expect([first, concurrent]).toEqual([cachedBinaryPath(env), cachedBinaryPath(env)]);
    expect(download.calls).toBe(1);
    expect(go.calls()).toEqual([]);
    expect(lines.find((l) => l.startsWith('downloaded'))).toMatch(new RegExp(`^downloaded the Temporal CLI in \\d+\\.\\ds: ${cachedBinaryPath(env)}$`));
  });

  test('when the download fails and go is present, then it is built once with go install, reused, and the log says both and their times', async () => {
    const root = tmpDir('resolve');
    const bin = path.join(root, 'bin');
    const go = fakeGo(bin, { delaySeconds: 0.2 });
    const download = fakeDownload('fails');
    const env = { PATH: bin, FLOWRUNS_CACHE_DIR: path.join(root, 'cache') };
    const { log, lines } = logged();

    const [first, concurrent] = await Promise.all([resolveTemporalBinary({ env, download, log }), resolveTemporalBinary({ env, download, log })]);
    const again = await resolveTemporalBinary({ env, download, log });

    const expected = path.join(root, 'cache', `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal');
    expect([first, concurrent, again]).toEqual([expected, expected, expected]);
    expect(download.calls).toBe(1);
    expect(go.calls()).toEqual([`install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`]);
    expect(fs.readdirSync(path.dirname(expected)).filter((f) => f.startsWith('.build'))).toEqual([]);
    expect(lines.join('\n')).toMatch(/the download failed after \d+\.\ds \(temporal\.download unreachable \(ENOTFOUND\)\)/);
    expect(lines.join('\n')).toMatch(new RegExp(`built the Temporal CLI with go in \\d+\\.\\ds: ${expected}`));
  });

  test('when the download fails and the go build fails, then no binary is left in the cache and the error shows the build output', async () => {
    const root = tmpDir('resolve');
    const bin = path.join(root, 'bin');
    fakeGo(bin, { fail: true });
    const env = { PATH: bin, FLOWRUNS_CACHE_DIR: path.join(root, 'cache') };

    await expect(resolveTemporalBinary({ env, download: fakeDownload('fails'), ...quiet })).rejects.toThrow(/build failed/);
    expect(fs.existsSync(cachedBinaryPath(env))).toBe(false);
  });

  test('when the download fails and Go is not installed, then resolving fails saying both', async () => {
    const root = tmpDir('resolve');
    const env = { PATH: path.join(root, 'empty'), FLOWRUNS_CACHE_DIR: path.join(root, 'cache') };

    await expect(resolveTemporalBinary({ env, download: fakeDownload('fails'), ...quiet })).rejects.toThrow(
      /the download failed after .*ENOTFOUND.* and Go is not installed.*TEMPORAL_CLI_PATH/,
    );
  });

  test('when FLOWRUNS_CACHE_DIR is unset, then the cache follows XDG_CACHE_HOME', () => {
    expect(cachedBinaryPath({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).toBe(`/x/cache/flowruns/temporal-${TEMPORAL_CLI_VERSION}/temporal`);
    expect(cachedBinaryPath({ HOME: '/home/u' })).toBe(`/home/u/.cache/flowruns/temporal-${TEMPORAL_CLI_VERSION}/temporal`);
  });
});

describe('the SDK download fails fast without a route', () => {
  const target = () => path.join(tmpDir('download'), 'temporal');

  test('when nothing listens where the download asks first, then it fails at once naming the refusal', async () => {
    const started = Date.now();
    await expect(downloadWithSdk(target(), () => undefined, { infoUrl: `http://127.0.0.1:${await freePort()}/cli/v1` })).rejects.toThrow(
      /127\.0\.0\.1:\d+ unreachable \(ECONNREFUSED\)/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test('when the first request gets no answer, then it gives up after the probe timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = http.createServer(() => undefined).on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const started = Date.now();
      await expect(
        downloadWithSdk(target(), () => undefined, { infoUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/cli/v1`, probeTimeoutMs: 300 }),
      ).rejects.toThrow(/unreachable \(no answer in 0\.3s\)/);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  test('when the first request is refused (no such version), then it fails naming the version and the status', async () => {
    const server = http.createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await expect(downloadWithSdk(target(), () => undefined, { infoUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cli/v1` })).rejects.toThrow(
        new RegExp(`has no CLI ${TEMPORAL_CLI_VERSION} for this platform \\(HTTP 404\\)`),
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
