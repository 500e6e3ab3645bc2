/**
 * P1: a fan-out through the whole platform against the same shape as a bare Temporal app.
 * Platform: BATCHES triggers of POST /api/v1/flows/run, each RUNS runs of the fanout flow (RUNS
 * flows, as a batch runs each flow once) with max_parallel 50, all sent at once; timed from the
 * first trigger until every batch's GET /api/v1/runs/status says is_complete (the open batches
 * read together every 500 ms). Bare: as many batch workflows, each starting RUNS children of three
 * activities, timed until every batch workflow's result. On the same Temporal server, after an
 * untimed warm-up of each; in full mode twice in the order platform, bare, bare, platform, so a
 * load that drifts over the minutes (the cores are shared) weighs on both alike; the ratio is of
 * the sums. A last platform round awaits the batch workflows on Temporal instead of reading the
 * status, which shows what the status reads cost the platform (in the note, not the ratio).
 */
import { startBareApp, type BareApp } from './bare/app';
import { cpuSeconds, cpuText, ms, type BenchContext, type Benchmark, type Row } from './report';
import { defineFlow, fanoutFlows, requireSucceeded, triggerBatch, waitForBatches, type Platform } from './stack';

const MAX_PARALLEL = 50;
const POLL_MS = 500;

export const p1: Benchmark = {
  name: 'p1',
  title: 'P1 fan-out, platform vs bare Temporal',
  async run(ctx: BenchContext): Promise<Row[]> {
    const batches = ctx.quick ? 2 : 20;
    const runs = ctx.quick ? 10 : 50;
    const order = ctx.quick ? (['platform', 'bare'] as const) : (['platform', 'bare', 'bare', 'platform'] as const);
    const total = batches * runs;
    const { platform, stub } = ctx;
    const flows = fanoutFlows('bench-p1', runs, stub.url);
    const appId = await defineFlow(platform, flows);

    // Warm-up of both (workflow bundles loaded, connections and evaluators up), untimed.
    requireSucceeded(await waitForBatches(platform, [(await triggerBatch(platform, appId, flows, 5)).batchId], 120_000));
    const bare = await startBareApp(ctx.services.temporalAddress);
    try {
      await bare.client.workflow.getHandle(await bare.start(5, MAX_PARALLEL, stub.url)).result();
      const times = { platform: [] as number[], bare: [] as number[] };
      const polls = { count: 0, ms: 0 };
      const cpu: Record<'platform' | 'bare', string[]> = { platform: [], bare: [] };
      for (const side of order) {
        ctx.log(`P1 ${side}: ${batches} batches × ${runs} runs`);
        const before = stub.requests;
        const cpuBefore = cpuSeconds();
        const t = performance.now();
        if (side === 'platform') await platformRound(platform, appId, flows, batches, runs, polls);
        else await bareRound(bare, batches, runs, stub.url);
        times[side].push(performance.now() - t);
        cpu[side].push(cpuText(cpuBefore, cpuSeconds()));
        if (stub.requests - before !== total * 2) throw new Error(`the stub saw ${stub.requests - before} requests, expected ${total * 2}`);
      }
      ctx.log('P1 platform, batches awaited on Temporal (no status reads)');
      const t = performance.now();
      const triggered = await Promise.all(Array.from({ length: batches }, () => triggerBatch(platform, appId, flows, runs, MAX_PARALLEL)));
      await Promise.all(triggered.map((b) => platform.client.workflow.getHandle(`batch-${b.batchId}`).result()));
      const awaitedMs = performance.now() - t;
      requireSucceeded(await waitForBatches(platform, triggered.map((b) => b.batchId), 60_000));
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const platformMs = sum(times.platform) / times.platform.length;
      const bareMs = sum(times.bare) / times.bare.length;
      const ratio = platformMs / bareMs;
      const each = (xs: number[]) => xs.map((x) => ms(x)).join(', ');
      return [
        {
          id: 'P1',
          benchmark: `${batches} batches × ${runs} runs (GET → JSONata count → POST), trigger → all is_complete`,
          figure: `${ms(platformMs)} (${((total * 1000) / platformMs).toFixed(0)} runs/s)`,
          value: platformMs,
          reference: `bare Temporal ${ms(bareMs)} (${((total * 1000) / bareMs).toFixed(0)} runs/s)`,
          ratio,
          target: '≤ 1.25×',
          met: ratio <= 1.25,
          note:
            `rounds in the order ${order.join(', ')}: platform ${each(times.platform)}, bare ${each(times.bare)}; ` +
            `CPU by process, platform rounds: ${cpu.platform.join('; ')}; bare rounds: ${cpu.bare.join('; ')}; ` +
            `the platform's time includes ${polls.count} status reads (${ms(polls.ms / Math.max(1, polls.count))} each on average; ` +
            `a read of a running batch costs one describe of the batch workflow in Temporal); ` +
            `the same platform round awaiting the batch workflows on Temporal instead took ${ms(awaitedMs)} (${(awaitedMs / bareMs).toFixed(2)}× bare)`,
        },
      ];
    } finally {
      await bare.stop();
    }
  },
};

async function platformRound(platform: Platform, appId: string, flows: { id: string }[], batches: number, runs: number, polls: { count: number; ms: number }): Promise<void> {
  const triggered = await Promise.all(Array.from({ length: batches }, () => triggerBatch(platform, appId, flows, runs, MAX_PARALLEL)));
  requireSucceeded(await waitForBatches(platform, triggered.map((b) => b.batchId), 30 * 60_000, POLL_MS, polls));
}

async function bareRound(bare: BareApp, batches: number, runs: number, stubUrl: string): Promise<void> {
  const ids = await Promise.all(Array.from({ length: batches }, () => bare.start(runs, MAX_PARALLEL, stubUrl)));
  const counts = await Promise.all(ids.map((id) => bare.client.workflow.getHandle(id).result()));
  if (counts.some((c) => c !== runs * 25)) throw new Error(`bare batches counted ${counts.join(', ')}`);
}
