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
import { temporal } from '@temporalio/proto';
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
    let last: { t0Wall: number; postMs: number; batchId: string; runId: string } | undefined;
    const toVisible: number[] = [];
    for (let i = 0; i <= iterations; i++) {
      const seenBefore = stub.seen.length;
      const t0Wall = Date.now();
      const t0 = performance.now();
      const { batchId, runIds } = await triggerBatch(platform, appId, [flow], 1);
      last = { t0Wall, postMs: performance.now() - t0, batchId, runId: runIds[0]! };
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
    const breakdown = await timeline(ctx, last!);
    const v50 = percentile(toVisible, 50);
    const vMax = Math.max(...toVisible);
    return [
      { id: 'P3', benchmark: `trigger → first step started (${iterations} runs, idle)`, figure: `p50 ${ms(s50)} (max ${ms(Math.max(...toStart))})`, value: s50, reference: '—', ratio: null, target: 'p50 ≤ 100 ms', met: s50 <= 100, note: `where the last trigger's time went (ms after POST sent): ${breakdown}` },
      { id: 'P3', benchmark: 'step finished → visible in GET /api/v1/runs/{id}', figure: `max ${ms(vMax)} (p50 ${ms(v50)})`, value: vMax, reference: '—', ratio: null, target: '≤ 1 s', met: vMax <= 1000 },
    ];
  },
};

/** The last run's path from trigger to its first step, from the batch and run workflows' histories. */
async function timeline(ctx: BenchContext, last: { t0Wall: number; postMs: number; batchId: string; runId: string }): Promise<string> {
  const { client } = ctx.platform;
  const parts = [`POST answered +${last.postMs.toFixed(0)}`];
  const at = (e: temporal.api.history.v1.IHistoryEvent): string => {
    const t = e.eventTime!;
    return `+${(Number(t.seconds) * 1000 + Math.round((t.nanos ?? 0) / 1e6) - last.t0Wall).toFixed(0)}`;
  };
  const name = (e: temporal.api.history.v1.IHistoryEvent): string =>
    (temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? '?').replace(/^EVENT_TYPE_/, '').toLowerCase();
  const batch = (await client.workflow.getHandle(`batch-${last.batchId}`).fetchHistory()).events ?? [];
  for (const e of batch.slice(0, 12)) {
    const what = e.activityTaskScheduledEventAttributes?.activityType?.name ?? e.markerRecordedEventAttributes?.markerName ?? '';
    if (/started|initiated|scheduled|marker/.test(name(e))) parts.push(`batch ${name(e)}${what ? ` ${what}` : ''} ${at(e)}`);
    if (name(e).startsWith('child_workflow_execution_started')) break;
  }
  const run = (await client.workflow.getHandle(`run-${last.runId}`).fetchHistory()).events ?? [];
  for (const e of run.slice(0, 16)) {
    const what = e.activityTaskScheduledEventAttributes?.activityType?.name ?? e.markerRecordedEventAttributes?.markerName ?? '';
    if (/started|scheduled|marker/.test(name(e))) parts.push(`run ${name(e)}${what ? ` ${what}` : ''} ${at(e)}`);
    if (name(e) === 'activity_task_started' && parts.filter((p) => p.startsWith('run activity_task_started')).length >= 2) break;
  }
  return parts.join('; ');
}
