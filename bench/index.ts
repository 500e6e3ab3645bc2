/**
 * Benchmarks, each a ratio against a baseline measured in the same run on the same data:
 *  - paging: keyset page at depth N vs depth 0 (should stay ~1×), next to OFFSET paging at the
 *    same depths (grows with N) — the reason list endpoints use keyset cursors;
 *  - writes: inserting runs in batches of 500 vs one row per statement — the reason projections batch.
 * Usage: `npm run bench` (DATABASE_URL when set, else an embedded Postgres in a temp dir).
 * BENCH_ROWS sets the table size (default 50000).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DataSource } from 'typeorm';
import { dropDatabase, ensureDatabase, startEmbeddedPostgres, withDatabase } from '../apps/dev/postgres';
import { pageFlowRuns } from '../apps/gateway/surfaces/flow-runs/queries';
import { timeKey } from '../db/keyset';
import { openDatabase } from '../db/data-source';
import { RunEntity, type Run } from '../db/entities';

const ROWS = Number(process.env.BENCH_ROWS ?? 50_000);
const REPEAT = 25;
const LIMIT = 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn: () => Promise<unknown>, repeat = REPEAT): Promise<number> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

const runRow = (accountId: string, flowId: string, i: number): Partial<Run> => {
  const id = randomUUID();
  return {
    id,
    publicId: id,
    accountId,
    flowId,
    flowName: flowId,
    flowType: 'automation',
    status: i % 10 === 0 ? 'failed' : 'succeeded',
    source: 'api',
    position: 0,
    variables: {},
    tags: [],
    external: false,
    createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000),
    durationMs: 100 + (i % 50),
  };
};

async function insertRows(db: DataSource, rows: Partial<Run>[], batch: number): Promise<void> {
  for (let i = 0; i < rows.length; i += batch)
    await db.createQueryBuilder().insert().into(RunEntity).values(rows.slice(i, i + batch)).execute();
}

async function main(): Promise<void> {
  const dbName = `flowruns_bench_${randomBytes(4).toString('hex')}`;
  const pg = process.env.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({ dir: path.join(os.tmpdir(), `flowruns-bench-pg-${process.pid}`), port: 0 });
  const adminUrl = process.env.DATABASE_URL ?? pg!.adminUrl;
  await ensureDatabase(adminUrl, dbName);
  const db = await openDatabase(withDatabase(adminUrl, dbName));
  try {
    const accountId = 'default';
    const flowId = 'bench-flow';

    const sample = Array.from({ length: 2000 }, (_, i) => runRow(accountId, 'bench-writes', i));
    let t = performance.now();
    await insertRows(db, sample.slice(0, 1000), 1);
    const single = performance.now() - t;
    t = performance.now();
    await insertRows(db, sample.slice(1000), 500);
    const batched = performance.now() - t;

    await insertRows(db, Array.from({ length: ROWS }, (_, i) => runRow(accountId, flowId, i)), 1000);
    await db.query('ANALYZE runs');

    const deep = ROWS - LIMIT * 2;
    const [anchor] = await db.getRepository(RunEntity).find({
      where: { accountId, flowId },
      order: { createdAt: 'DESC', id: 'DESC' },
      skip: deep - 1,
      take: 1,
    });
    const keyset = (after: ReturnType<typeof timeKey> | null) => () =>
      pageFlowRuns(db, { accountId, flowId, limit: LIMIT, after, status: null });
    const offset = (skip: number) => () =>
      db.getRepository(RunEntity).find({ where: { accountId, flowId }, order: { createdAt: 'DESC', id: 'DESC' }, skip, take: LIMIT + 1 });

    const k0 = await time(keyset(null));
    const kN = await time(keyset(timeKey(anchor)));
    const o0 = await time(offset(0));
    const oN = await time(offset(deep));

    const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
    console.log(`rows: ${ROWS}, page size ${LIMIT}, median of ${REPEAT}`);
    console.table([
      { case: 'keyset page at depth 0 (baseline)', time: fmt(k0), ratio: '1.00×' },
      { case: `keyset page at depth ${deep}`, time: fmt(kN), ratio: `${(kN / k0).toFixed(2)}×` },
      { case: 'OFFSET page at depth 0', time: fmt(o0), ratio: `${(o0 / k0).toFixed(2)}×` },
      { case: `OFFSET page at depth ${deep}`, time: fmt(oN), ratio: `${(oN / k0).toFixed(2)}×` },
      { case: '1000 runs, batches of 500 (baseline)', time: fmt(batched), ratio: '1.00×' },
      { case: '1000 runs, one row per INSERT', time: fmt(single), ratio: `${(single / batched).toFixed(2)}×` },
    ]);
  } finally {
    await db.destroy();
    await dropDatabase(adminUrl, dbName);
    await pg?.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
