/**
 * P2: the reads at scale. One account with RUNS runs of one flow in batches of 50, seeded with
 * generate_series straight into the real tables (the stats triggers keep the per-flow figures as
 * they would for runs recorded one by one); step rows for the newest and the oldest 1,000 runs,
 * which the timed reads touch. Then, through the real HTTP gateway, one request at a time after
 * a warm-up: a batch's status, list page 1 and the page at depth RUNS − 100 by keyset cursor
 * (per-flow runs contract), a run's detail (CI-batch contract) and the flow's stats.
 */
import type { DataSource } from 'typeorm';
import { encodeCursor } from '../db/keyset';
import { ms, percentile, sample, type BenchContext, type Benchmark, type Row } from './report';
import { defineFlow, fanoutFlow } from './stack';

const PAGE = 20;
const P99_TARGET_MS = 10;

export const p2: Benchmark = {
  name: 'p2',
  title: 'P2 reads at 1,000,000 runs',
  async run(ctx: BenchContext): Promise<Row[]> {
    const runs = ctx.quick ? 20_000 : 1_000_000;
    const requests = ctx.quick ? 50 : 1000;
    const { platform } = ctx;
    const account = await platform.call<{ id: string; apiKey: string }>('POST', '/api/v1/accounts', { name: 'bench-p2' });
    const key = account.apiKey;
    const flowId = 'bench-p2';
    await defineFlow(platform, fanoutFlow(flowId, ctx.stub.url), key);

    ctx.log(`P2 seeding ${runs.toLocaleString('en')} runs`);
    const t = performance.now();
    await seedRuns(platform.dataSource, account.id, flowId, runs);
    const seedMs = performance.now() - t;
    ctx.log(`P2 seeded in ${(seedMs / 1000).toFixed(1)} s`);

    const db = platform.dataSource;
    const depth = runs - 100;
    const [anchor] = (await db.query(
      `SELECT created_at, id FROM runs WHERE account_id = $1 AND flow_id = $2 ORDER BY created_at DESC, id DESC OFFSET $3 LIMIT 1`,
      [account.id, flowId, depth - 1],
    )) as { created_at: Date; id: string }[];
    const deepCursor = encodeCursor([anchor!.created_at.toISOString(), anchor!.id]);
    const newestBatch = batchId(Math.floor((runs - 1) / 50));
    const newestRun = runId(runs - 1);

    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each read checks its own response shape loosely
    const get = async (p: string, check: (body: any) => boolean): Promise<void> => {
      const res = await fetch(`${platform.baseUrl}${p}`, { headers: { 'x-api-key': key } });
      const body = (await res.json()) as unknown;
      if (res.status !== 200 || !check(body)) throw new Error(`GET ${p} answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    };
    const reads = {
      status: () => get(`/api/v1/runs/status?batch_id=${newestBatch}`, (b) => b.is_complete === true && b.runs.length === 50),
      page1: () => get(`/api/v1/flows/${flowId}/runs?limit=${PAGE}`, (b) => b.data.length === PAGE && b.hasMore === true),
      deep: () => get(`/api/v1/flows/${flowId}/runs?limit=${PAGE}&cursor=${deepCursor}`, (b) => b.data.length === PAGE && b.data[0].stepsCount === 3),
      detail: () => get(`/api/v1/runs/${newestRun}`, (b) => b.actions.length === 3),
      stats: () => get(`/api/v1/flows/${flowId}/runs/stats`, (b) => b.totalRuns === runs),
    };
    const times: Record<keyof typeof reads, number[]> = { status: [], page1: [], deep: [], detail: [], stats: [] };
    // Interleaved, so a hiccup of the machine falls on every read alike.
    for (const name of Object.keys(reads) as (keyof typeof reads)[]) await sample(0, reads[name], 20);
    for (let i = 0; i < requests; i++)
      for (const name of Object.keys(reads) as (keyof typeof reads)[]) times[name].push(...(await sample(1, reads[name], 0)));

    const p50 = (k: keyof typeof reads) => percentile(times[k], 50);
    const p99 = (k: keyof typeof reads) => percentile(times[k], 99);
    const row = (k: keyof typeof reads, benchmark: string): Row => ({
      id: 'P2',
      benchmark,
      figure: `p99 ${ms(p99(k))} (p50 ${ms(p50(k))})`,
      value: p99(k),
      reference: `page 1 p50 ${ms(p50('page1'))}`,
      ratio: p50(k) / p50('page1'),
      target: `p99 ≤ ${P99_TARGET_MS} ms`,
      met: p99(k) <= P99_TARGET_MS,
    });
    const deepRatio = p50('deep') / p50('page1');
    const n = runs.toLocaleString('en');
    return [
      { id: 'P2', benchmark: `seed ${n} runs in ${(runs / 50).toLocaleString('en')} batches (generate_series)`, figure: ms(seedMs), value: seedMs, reference: '—', ratio: null, target: 'seconds', met: null },
      row('status', `batch status (50 runs), ${n} runs in the account`),
      row('page1', `list page 1 (${PAGE} runs, per-flow runs)`),
      { ...row('deep', `list page at depth ${depth.toLocaleString('en')} (keyset cursor)`), target: `p99 ≤ ${P99_TARGET_MS} ms; p50 / page 1 ≤ 1.2`, met: p99('deep') <= P99_TARGET_MS && deepRatio <= 1.2 },
      row('detail', 'run detail (CI-batch, 3 actions)'),
      row('stats', `stats of the flow (${n} runs)`),
    ];
  },
};

const batchId = (b: number): string => `p2b-${String(b).padStart(7, '0')}`;
const runId = (g: number): string => `p2r-${String(g).padStart(8, '0')}`;

/** Batches, runs (one in ten failed) and the step rows of the newest and oldest 1,000 runs, 10 ms apart. */
export async function seedRuns(db: DataSource, accountId: string, flowId: string, runs: number): Promise<void> {
  const base = '2025-01-01T00:00:00Z';
  await db.query(
    `INSERT INTO batches (id, account_id, source, max_parallel, created_at)
     SELECT 'p2b-' || lpad(b::text, 7, '0'), $1, 'api', 50, $2::timestamptz + b * interval '500 ms'
       FROM generate_series(0, $3::int - 1) b`,
    [accountId, base, Math.ceil(runs / 50)],
  );
  await db.query(
    `INSERT INTO runs (id, public_id, account_id, batch_id, position, flow_id, flow_version, flow_name, flow_type, status, source,
                       error, workflow_id, started_at, finished_at, duration_ms, created_at, updated_at)
     SELECT id, id, $1, 'p2b-' || lpad((g / 50)::text, 7, '0'), g % 50, $2, 1, 'Bench ' || $2, 'automation',
            CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'succeeded' END, 'api',
            CASE WHEN g % 10 = 0 THEN '{"step":"post","message":"POST answered 500"}'::jsonb END,
            'run-' || id, created + interval '5 ms', created + interval '5 ms' + dur * interval '1 ms', dur, created, created
       FROM generate_series(0, $4::int - 1) g,
            LATERAL (SELECT 'p2r-' || lpad(g::text, 8, '0') AS id, $3::timestamptz + g * interval '10 ms' AS created, 100 + ((g::bigint * 7919) % 5000)::int AS dur) x`,
    [accountId, flowId, base, runs],
  );
  await db.query(
    `INSERT INTO step_runs (run_id, step_id, position, name, type, status, attempts, started_at, finished_at, duration_ms, output)
     SELECT r.id, s.step_id, s.pos, s.step_id, s.type, 'succeeded', 1, r.started_at, r.finished_at, 10, '{"count":25}'::jsonb
       FROM runs r,
            (VALUES ('fetch', 0, 'http'), ('count', 1, 'transform'), ('post', 2, 'http')) s(step_id, pos, type)
      WHERE r.account_id = $1 AND (r.id < 'p2r-' || lpad('1000', 8, '0') OR r.id >= 'p2r-' || lpad(($2::int - 1000)::text, 8, '0'))`,
    [accountId, runs],
  );
  // As autovacuum would after such an insert, now rather than under the timed reads.
  await db.query('VACUUM (ANALYZE) batches, runs, step_runs, flow_run_stats, flow_run_durations');
}
