/**
 * P3: latencies of one run on an idle platform, ITERATIONS times one after another.
 * - trigger → first step started: from sending POST /api/v1/flows/run until the first step's GET
 *   reaches the stub;
 * - step finished → visible: from the stub sending the first step's answer until
 *   GET /api/v1/runs/{id} (polled every 10 ms, through the live progress query while the run
 *   runs) shows that action succeeded. The flow's second step is a 1 s delay, so the run is
 *   still running when the first step finishes, as in a real multi-step run.
 */
import { randomBytes } from 'node:crypto';
import { ms, percentile, type BenchContext, type Benchmark, type Row } from './report';
import { defineFlow, requireSucceeded, sleep, triggerBatch, waitForBatches } from './stack';

export const p3: Benchmark = {
  name: 'p3',
  title: 'P3 latencies',
  async run(ctx: BenchContext): Promise<Row[]> {
    const iterations = ctx.quick ? 3 : 20;
    const { platform, stub } = ctx;
    const flowId = 'bench-p3';
    const marker = randomBytes(4).toString('hex');
    const flow = {
      id: flowId,
      name: 'Bench latency',
      type: 'automation',
      variables: { STUB: stub.url },
      steps: [
        { id: 'first', type: 'http', config: { method: 'GET', url: `\${env:STUB}/p3-${marker}`, expectStatus: [200] } },
        { id: 'pause', type: 'delay', config: { durationMs: 1000 } },
      ],
    };
    const appId = await defineFlow(platform, flow);
    const toStart: number[] = [];
    const toVisible: number[] = [];
    for (let i = 0; i <= iterations; i++) {
      const seenBefore = stub.seen.length;
      const t0 = performance.now();
      const { batchId, runIds } = await triggerBatch(platform, appId, [flow], 1);
      const deadline = Date.now() + 30_000;
      let hit: (typeof stub.seen)[number] | undefined;
      let visibleAt: number | undefined;
      while (visibleAt === undefined) {
        if (Date.now() > deadline) throw new Error('the first step did not show as succeeded within 30 s');
        hit ??= stub.seen.slice(seenBefore).find((s) => s.path === `/p3-${marker}`);
        if (hit) {
          const run = await platform.call<{ actions: { step_id: string; status: string }[] }>('GET', `/api/v1/runs/${runIds[0]}`);
          if (run.actions.find((a) => a.step_id === 'first')?.status === 'succeeded') visibleAt = performance.now();
        }
        if (visibleAt === undefined) await sleep(10);
      }
      // The first iteration warms up (flow definition cache, connections): not counted.
      if (i > 0) {
        toStart.push(hit!.receivedAt - t0);
        toVisible.push(visibleAt - hit!.answeredAt);
      }
      requireSucceeded(await waitForBatches(platform, [batchId], 60_000, 100));
    }
    const s50 = percentile(toStart, 50);
    const v50 = percentile(toVisible, 50);
    const vMax = Math.max(...toVisible);
    return [
      { id: 'P3', benchmark: `trigger → first step started (${iterations} runs, idle)`, figure: `p50 ${ms(s50)} (max ${ms(Math.max(...toStart))})`, value: s50, reference: '—', ratio: null, target: 'p50 ≤ 100 ms', met: s50 <= 100 },
      { id: 'P3', benchmark: 'step finished → visible in GET /api/v1/runs/{id}', figure: `max ${ms(vMax)} (p50 ${ms(v50)})`, value: vMax, reference: '—', ratio: null, target: '≤ 1 s', met: vMax <= 1000 },
    ];
  },
};
