/**
 * Obtaining the Temporal server the production test tier runs (not the dev server): `go install`
 * of `go.temporal.io/server/cmd/server` and of its SQL schema tool (`cmd/tools/sql`), at the version
 * the CLI is built from, each into a scratch GOBIN then renamed, plus the PostgreSQL schema
 * directories copied from the module source; all kept under `cacheDir()/temporal-server-<version>/`
 * and built under the same kind of lock as the CLI, so concurrent starters wait for one another.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir, findOnPath, run, withLock } from './temporal-cli';

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const MODULE = 'go.temporal.io/server';

export interface TemporalServerFiles {
  /** The `server` binary (`server --config-file … --env … start`). */
  server: string;
  /** The SQL schema tool (temporal-sql-tool). */
  sqlTool: string;
  /** `schema/postgresql/v12` of the module: `temporal/versioned` and `visibility/versioned`. */
  schemaDir: string;
}

export function serverCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), `temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

export function cachedServerFiles(env: NodeJS.ProcessEnv = process.env): TemporalServerFiles {
  const dir = serverCacheDir(env);
  return { server: path.join(dir, 'server'), sqlTool: path.join(dir, 'sql'), schemaDir: path.join(dir, 'schema', 'postgresql', 'v12') };
}

const present = (files: TemporalServerFiles): boolean =>
  fs.existsSync(files.server) && fs.existsSync(files.sqlTool) && fs.existsSync(path.join(files.schemaDir, 'temporal', 'versioned'));

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)}s`;

/** `go install <pkg>@version` into a scratch GOBIN, the binary renamed to `target`. */
async function goInstall(go: string, pkg: string, binary: string, target: string, env: NodeJS.ProcessEnv, log: (m: string) => void): Promise<void> {
  const dir = path.dirname(target);
  const scratch = fs.mkdtempSync(path.join(dir, '.build-'));
  try {
    const started = Date.now();
    log(`building ${pkg}@${TEMPORAL_SERVER_VERSION} with go install (several minutes the first time, cached afterwards)`);
    await run(go, ['install', `${pkg}@${TEMPORAL_SERVER_VERSION}`], { cwd: scratch, env: { ...env, GOBIN: scratch }, logFile: path.join(dir, `build-${binary}.log`) });
    fs.renameSync(path.join(scratch, binary), target);
    log(`built ${binary} in ${seconds(started)}: ${target}`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Copies the module's PostgreSQL v12 schema (from GOMODCACHE, downloaded by the build) into the cache. */
function copySchema(go: string, target: string, env: NodeJS.ProcessEnv): void {
  const modCache = spawnSync(go, ['env', 'GOMODCACHE'], { env, encoding: 'utf8' }).stdout.trim();
  const source = path.join(modCache, `${MODULE}@${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql', 'v12');
  if (!fs.existsSync(source)) throw new Error(`the Temporal server module's schema is not in ${source}`);
  const scratch = `${target}.partial`;
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.cpSync(source, scratch, { recursive: true });
  // The module cache is read-only; the copy must be removable.
  for (const entry of fs.readdirSync(scratch, { recursive: true, withFileTypes: true })) {
    fs.chmodSync(path.join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.renameSync(scratch, target);
}

/** The server, the schema tool and the schema: from the cache, else built with Go (which must be on PATH). */
export async function resolveTemporalServer(options: { env?: NodeJS.ProcessEnv; log?: (m: string) => void } = {}): Promise<TemporalServerFiles> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((m: string) => process.stderr.write(`[temporal-server] ${m}\n`));
  const files = cachedServerFiles(env);
  if (present(files)) return files;
  const dir = serverCacheDir(env);
  fs.mkdirSync(dir, { recursive: true });
  return withLock(path.join(dir, '.lock'), log, async () => {
    if (present(files)) return files;
    const go = findOnPath('go', env);
    if (!go) throw new Error(`the Temporal server ${TEMPORAL_SERVER_VERSION} is not in ${dir} and Go is not on PATH to build it`);
    if (!fs.existsSync(files.server)) await goInstall(go, `${MODULE}/cmd/server`, 'server', files.server, env, log);
    if (!fs.existsSync(files.sqlTool)) await goInstall(go, `${MODULE}/cmd/tools/sql`, 'sql', files.sqlTool, env, log);
    copySchema(go, files.schemaDir, env);
    return files;
  });
}
