/** Small process and port helpers shared by the dev-stack launchers. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A port free on 127.0.0.1 right now; the caller binds it soon after. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

/** Command line (NUL-separated args) and parent pid from `/proc`; undefined off Linux or when gone. */
export function processInfo(pid: number): { args: string[]; ppid: number } | undefined {
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '0', 10);
    return { args, ppid };
  } catch {
    return undefined;
  }
}

/**
 * True when `pid`'s parent is gone (reparented to init or a subreaper) or is not a Node process:
 * a child left behind by a killed `npm run dev` or jest, safe to stop.
 */
export function isOrphan(pid: number): boolean {
  const info = processInfo(pid);
  if (!info) return false;
  if (info.ppid <= 1) return true;
  const parent = processInfo(info.ppid);
  return !parent?.args.some((a) => /(^|\/)node$/.test(a) || a.includes('node'));
}

export function tail(file: string | undefined, lines = 25): string {
  if (!file) return '(no log file)';
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Sends `signal` to `childPid` once this process is gone, however it died (SIGKILL included):
 * servers run in their own process group and would otherwise outlive a killed `npm run dev` or
 * jest forever. Returns a function that retires the watchdog after a normal stop.
 */
export function killWhenParentDies(childPid: number, signal: 'SIGTERM' | 'SIGINT'): () => void {
  if (process.platform === 'win32') return () => undefined;
  const watchdog = spawn(
    '/bin/sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -${signal.slice(3)} ${childPid} 2>/dev/null`],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  return () => {
    if (watchdog.exitCode === null) watchdog.kill('SIGKILL');
  };
}

export interface SupervisedChild {
  /** Why the child ended, or undefined while it runs. */
  exited(): string | undefined;
  /** Kills it now (a start that failed). */
  abort(): void;
  /** Stops it once: `signal`, then SIGKILL after the grace period. */
  stop(): Promise<void>;
}

/**
 * Tracks a server child: how it ended, and that it is stopped when this process exits or dies.
 * Postgres wants SIGINT (fast shutdown), Temporal SIGTERM.
 */
export function supervise(child: ChildProcess, signal: 'SIGTERM' | 'SIGINT', graceMs: number): SupervisedChild {
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.on('exit', (code, sig) => {
      exited = `exited with ${sig ?? code}`;
      resolve();
    });
    child.on('error', (err) => {
      exited = `failed to start: ${err.message}`;
      resolve();
    });
  });
  const onExit = (): void => {
    if (!exited) child.kill(signal);
  };
  process.on('exit', onExit);
  const retireWatchdog = child.pid ? killWhenParentDies(child.pid, signal) : () => undefined;
  const release = () => {
    process.off('exit', onExit);
    retireWatchdog();
  };
  let stopping: Promise<void> | undefined;
  return {
    exited: () => exited,
    abort: () => {
      if (!exited) child.kill('SIGKILL');
      release();
    },
    stop: () => {
      stopping ??= (async () => {
        if (!exited) {
          child.kill(signal);
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exit;
          clearTimeout(timer);
        }
        release();
      })();
      return stopping;
    },
  };
}
