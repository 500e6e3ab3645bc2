/**
 * Postgres frozen for 30 s mid-batch: the postmaster and every backend of a server this test owns
 * get SIGSTOP (connections stay open, nothing answers, no error comes back), then SIGCONT. Where
 * postgres-stop.test.ts refuses connections, this leaves every query hanging. A step whose call is
 * made while the database is frozen hands its records back to the workflow rather than wait past
 * its deadline, so its call is never made again: every run succeeds and every run's GET reaches the
 * stub exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { processInfo } from '../../apps/dev/processes';
import type { Stack } from '../harness';
import type { Stub } from '../stub-server';
import { runStatuses, sleep, startItemBatch, startOnOwnPostgres, waitForBatch, waitForSucceeded, type OwnPostgresStack } from './support';

const RUNS = 100;
const FROZEN_MS = 30_000;

let own: OwnPostgresStack | undefined;
let stack: Stack;
let stub: Stub;
let key: string;
let appId: string;
/** Processes stopped and not yet continued, so afterAll never leaves a frozen server behind. */
let frozen: number[] = [];

/** The postmaster of the test's server and all its children (backends, checkpointer, walwriter…). */
function instanceProcesses(): number[] {
  const postmaster = Number.parseInt(fs.readFileSync(path.join(own!.dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(postmaster) || postmaster <= 0) throw new Error('no postmaster.pid');
  const children = fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => processInfo(pid)?.ppid === postmaster);
  return [postmaster, ...children];
}

/** SIGSTOP the postmaster first (no new backend forks), then every child it has. */
function freeze(): number {
  const [postmaster] = instanceProcesses();
  process.kill(postmaster!, 'SIGSTOP');
  frozen = [postmaster!];
  for (const pid of instanceProcesses().slice(1)) {
    try {
      process.kill(pid, 'SIGSTOP');
      frozen.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return frozen.length;
}

function thaw(): void {
  for (const pid of [...frozen].reverse()) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone
    }
  }
  frozen = [];
}

beforeAll(async () => {
  // The stub answers slowly enough that a good part of the batch's 20 parallel runs is inside its call when the freeze comes.
  own = await startOnOwnPostgres('postgres-freeze', 1500);
  ({ stack, stub, key, appId } = own);
}, 180_000);

afterAll(async () => {
  thaw();
  await own?.stop();
}, 90_000);

it('when Postgres is frozen (SIGSTOP) for 30 s mid-batch, then all 100 runs succeed and no run sends its GET twice', async () => {
  const started = Date.now();
  const { batchId } = await startItemBatch(stack, key, appId, stub.url, RUNS);

  await waitForSucceeded(stack.dataSource, batchId, 10, 120_000);
  const before = await runStatuses(stack.dataSource, batchId);
  const requestsBefore = stub.requests.length;
  const processes = freeze();
  await sleep(FROZEN_MS);
  const requestsFrozen = stub.requests.length - requestsBefore;
  thaw();

  const counts = await waitForBatch(stack.dataSource, batchId, RUNS, 300_000);
  const perRun = new Map<string, number>();
  for (const r of stub.requests) perRun.set(r.url, (perRun.get(r.url) ?? 0) + 1);
  const repeated = [...perRun.values()].reduce((n, c) => n + (c - 1), 0);
  const [handedBack] = await stack.dataSource.query(
    `SELECT count(*)::int AS attempts FROM step_runs s JOIN runs r ON r.id = s.run_id WHERE r.batch_id = $1 AND s.attempts > 1`,
    [batchId],
  );
  console.log(
    `[faults] Postgres frozen ${FROZEN_MS / 1000}s (${processes} processes stopped, with ${before.succeeded ?? 0} runs succeeded / ${before.running ?? 0} running; ` +
      `${requestsFrozen} GETs sent while frozen): ${counts.succeeded ?? 0}/${RUNS} runs succeeded; ${stub.requests.length} GETs for ${perRun.size} runs, ` +
      `${repeated} repeated; steps past their first attempt ${handedBack.attempts}; ${Math.round((Date.now() - started) / 1000)}s`,
  );

  expect(counts).toEqual({ succeeded: RUNS });
  expect(perRun.size).toBe(RUNS);
  expect(repeated).toBe(0);
  expect([...perRun.values()].every((n) => n === 1)).toBe(true);
  expect(handedBack.attempts).toBe(0);
}, 480_000);
