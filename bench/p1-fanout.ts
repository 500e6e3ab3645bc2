/**
 * P1: a fan-out through the whole platform against the same shape as a bare Temporal app.
 * Platform: BATCHES triggers of POST /api/v1/flows/run, each RUNS runs of the fanout flow with
 * max_parallel 50, all sent at once; timed from the first trigger until every batch's
 * GET /api/v1/runs/status says is_complete (polled every 250 ms). Bare: as many batch workflows,
 * each starting RUNS children of three activities, timed until every batch workflow's result.
 * Both after an untimed warm-up batch, one after the other on the same Temporal server.
 */
import { startBareApp } from './bare/app';
import { ms, type BenchContext, type Benchmark, type Row } from './report';
import { defineFlow, fanoutFlows, requireSucceeded, triggerBatch, waitForBatches } from './stack';

const MAX_PARALLEL = 50;

export const p1: Benchmark = {
  name: 'p1',
  title: 'P1 fan-out, platform vs bare Temporal',
  async run(ctx: BenchContext): Promise<Row[]> {
    const batches = ctx.quick ? 2 : 20;
    const runs = ctx.quick ? 10 : 50;
    const total = batches * runs;
    const { platform, stub } = ctx;
    const flows = fanoutFlows('bench-p1', runs, stub.url);
    const appId = await defineFlow(platform, flows);

    // Warm-up of both (workflow bundles loaded, connections and evaluators up), untimed.
    requireSucceeded(await waitForBatches(platform, [(await triggerBatch(platform, appId, flows, 5)).batchId], 120_000));
    const bare = await startBareApp(ctx.services.temporalAddress);
    try {
      await bare.client.workflow.getHandle(await bare.start(5, MAX_PARALLEL, stub.url)).result();

      ctx.log(`P1 platform: ${batches} batches × ${runs} runs`);
      const before = stub.requests;
      let t = performance.now();
      const triggered = await Promise.all(Array.from({ length: batches }, () => triggerBatch(platform, appId, flows, runs, MAX_PARALLEL)));
      const polls = { count: 0, ms: 0 };
      const statuses = await waitForBatches(platform, triggered.map((b) => b.batchId), 30 * 60_000, 250, polls);
      const platformMs = performance.now() - t;
      requireSucceeded(statuses);
      if (stub.requests - before !== total * 2) throw new Error(`the stub saw ${stub.requests - before} requests, expected ${total * 2}`);

      ctx.log(`P1 bare: ${batches} batches × ${runs} runs`);
      t = performance.now();
      const ids = await Promise.all(Array.from({ length: batches }, () => bare.start(runs, MAX_PARALLEL, stub.url)));
      const counts = await Promise.all(ids.map((id) => bare.client.workflow.getHandle(id).result()));
      const bareMs = performance.now() - t;
      if (counts.some((c) => c !== runs * 25)) throw new Error(`bare batches counted ${counts.join(', ')}`);

      const ratio = platformMs / bareMs;
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
          note: `the platform's time includes ${polls.count} status reads (${ms(polls.ms / polls.count)} each on average, one batch at a time, every 250 ms while any is open): a read of a running batch describes each of its open runs' workflows in Temporal`,
        },
      ];
    } finally {
      await bare.stop();
    }
  },
};
