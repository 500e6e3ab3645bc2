/**
 * P5: what one run of the P1 flow costs. One batch of RUNS runs through the platform (trigger by
 * HTTP, completion awaited on the batch workflow, so no status polling is counted):
 * - Postgres round trips: every query this process sends (gateway and worker run here) through
 *   pg's Client.prototype.query, BEGIN/COMMIT included, divided by RUNS;
 * - Temporal history events: of one run's child workflow plus its batch's events divided by RUNS,
 *   against the same for the bare app's batch and child.
 */
import { Client as PgClient } from 'pg';
import { temporal } from '@temporalio/proto';
import { startBareApp } from './bare/app';
import type { BenchContext, Benchmark, Row } from './report';
import { defineFlow, fanoutFlows, requireSucceeded, triggerBatch, waitForBatches } from './stack';

type QueryFn = (...args: unknown[]) => unknown;

/** Statements seen by countQueries, by their first 70 characters (BENCH_P5_BREAKDOWN=1). */
const statements = new Map<string, number>();

/** Counts pg round trips while `fn` runs. */
async function countQueries(fn: () => Promise<void>): Promise<number> {
  const proto = PgClient.prototype as unknown as { query: QueryFn };
  const original = proto.query;
  let n = 0;
  proto.query = function (this: unknown, ...args: unknown[]) {
    n += 1;
    if (process.env.BENCH_P5_BREAKDOWN) {
      const q = args[0] as string | { text?: string } | undefined;
      const text = (typeof q === 'string' ? q : (q?.text ?? '?')).replace(/\s+/g, ' ').trim().slice(0, 70);
      statements.set(text, (statements.get(text) ?? 0) + 1);
    }
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return n;
}

/** A workflow's history: its events, and its size in bytes as the server keeps it (protobuf, payloads as stored). */
async function events(client: BenchContext['platform']['client'], workflowId: string): Promise<{ events: number; bytes: number; byType: string }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  // Where the bytes are: by event type, largest first (printed with BENCH_P5_BREAKDOWN=1).
  const byType = new Map<string, { n: number; bytes: number }>();
  for (const e of history.events ?? []) {
    const type = String(temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? e.eventType).replace(/^EVENT_TYPE_/, '');
    const t = byType.get(type) ?? { n: 0, bytes: 0 };
    t.n += 1;
    t.bytes += temporal.api.history.v1.HistoryEvent.encode(e).finish().length;
    byType.set(type, t);
  }
  const top = [...byType].sort((a, b) => b[1].bytes - a[1].bytes).map(([type, t]) => `${type} ×${t.n} ${t.bytes} B`);
  // The first event of each type, by field (payloads, search attributes, summary, the rest).
  const seen = new Set<string>();
  const fields: string[] = [];
  for (const e of history.events ?? []) {
    const type = String(temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? e.eventType).replace(/^EVENT_TYPE_/, '');
    if (seen.has(type)) continue;
    seen.add(type);
    const attrsKey = Object.keys(e).find((k) => k.endsWith('Attributes') && (e as Record<string, unknown>)[k]);
    const size = (ev: temporal.api.history.v1.IHistoryEvent) => temporal.api.history.v1.HistoryEvent.encode(ev).finish().length;
    const whole = size(e);
    const parts = [`${whole} B`, `summary ${whole - size({ ...e, userMetadata: null })}`];
    const attrs = attrsKey ? ((e as Record<string, unknown>)[attrsKey] as Record<string, unknown>) : undefined;
    for (const f of ['input', 'result', 'details', 'searchAttributes', 'header', 'retryPolicy', 'workflowId', 'activityId'])
      if (attrs?.[f]) parts.push(`${f} ${whole - size({ ...e, [attrsKey!]: { ...attrs, [f]: null } })}`);
    fields.push(`${type}: ${parts.join(', ')}`);
  }
  return { events: history.events?.length ?? 0, bytes: temporal.api.history.v1.History.encode(history).finish().length, byType: `${top.join(', ')}\n    ${fields.join('\n    ')}` };
}

export const p5: Benchmark = {
  name: 'p5',
  title: 'P5 costs per run',
  async run(ctx: BenchContext): Promise<Row[]> {
    const runs = ctx.quick ? 10 : 50;
    const { platform, stub } = ctx;
    const flows = fanoutFlows('bench-p5', runs, stub.url);
    const appId = await defineFlow(platform, flows);
    requireSucceeded(await waitForBatches(platform, [(await triggerBatch(platform, appId, flows, 2)).batchId], 120_000));

    let batch: { batchId: string; runIds: string[] } | undefined;
    const queries = await countQueries(async () => {
      batch = await triggerBatch(platform, appId, flows, runs, 50);
      await platform.client.workflow.getHandle(`batch-${batch.batchId}`).result();
    });
    requireSucceeded(await waitForBatches(platform, [batch!.batchId], 60_000));
    const run = await events(platform.client, `run-${batch!.runIds[0]}`);
    const batchHistory = await events(platform.client, `batch-${batch!.batchId}`);

    const bare = await startBareApp(ctx.services.temporalAddress);
    let bareRun: Awaited<ReturnType<typeof events>>;
    let bareBatch: Awaited<ReturnType<typeof events>>;
    try {
      const id = await bare.start(runs, 50, stub.url);
      await bare.client.workflow.getHandle(id).result();
      bareRun = await events(bare.client, `${id}-run-0`);
      bareBatch = await events(bare.client, id);
    } finally {
      await bare.stop();
    }
    if (process.env.BENCH_P5_BREAKDOWN) {
      const top = [...statements].sort((a, b) => b[1] - a[1]).slice(0, 12);
      ctx.log(`P5 statements: ${top.map(([t, c]) => `${c}× ${t}`).join(' | ')}`);
    }
    if (process.env.BENCH_P5_BREAKDOWN === 'payloads') {
      // The run's payloads in clear, to see what they hold.
      const codecs = platform.client.options.loadedDataConverter.payloadCodecs;
      const history = await platform.client.workflow.getHandle(`run-${batch!.runIds[0]}`).fetchHistory();
      for (const e of history.events ?? []) {
        const attrs = Object.values(e).find((v) => v && typeof v === 'object' && ('input' in v || 'result' in v)) as { input?: { payloads?: unknown[] }; result?: { payloads?: unknown[] } } | undefined;
        for (let p of (attrs?.input ?? attrs?.result)?.payloads ?? []) {
          for (const c of [...codecs].reverse()) [p] = await c.decode([p as never]);
          ctx.log(`P5 payload ${temporal.api.enums.v1.EventType[e.eventType ?? 0]}: ${Buffer.from((p as { data?: Uint8Array }).data ?? []).toString()}`);
        }
      }
    }
    if (process.env.BENCH_P5_BREAKDOWN)
      for (const [what, h] of [['run', run], ['batch', batchHistory], ['bare run', bareRun], ['bare batch', bareBatch]] as const) ctx.log(`P5 ${what}: ${h.byType}`);
    const perRun = run.events + batchHistory.events / runs;
    const barePerRun = bareRun.events + bareBatch.events / runs;
    const bytesPerRun = run.bytes + batchHistory.bytes / runs;
    const bareBytesPerRun = bareRun.bytes + bareBatch.bytes / runs;
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    return [
      {
        id: 'P5',
        benchmark: `Postgres round trips per run (${runs}-run batch, trigger included)`,
        figure: `${(queries / runs).toFixed(1)} (${queries} in all)`,
        value: queries / runs,
        reference: 'bare: 0',
        ratio: null,
        target: 'printed',
        met: null,
      },
      {
        id: 'P5',
        benchmark: 'Temporal history events per run (child + batch / runs)',
        figure: `${perRun.toFixed(1)} (child ${run.events}, batch ${batchHistory.events})`,
        value: perRun,
        reference: `bare ${barePerRun.toFixed(1)} (child ${bareRun.events}, batch ${bareBatch.events})`,
        ratio: perRun / barePerRun,
        target: 'printed',
        met: null,
      },
      {
        id: 'P5',
        benchmark: 'Temporal history bytes per run (child + batch / runs; payloads encrypted as stored)',
        figure: `${kb(bytesPerRun)} (child ${kb(run.bytes)}, batch ${kb(batchHistory.bytes)})`,
        value: bytesPerRun,
        reference: `bare ${kb(bareBytesPerRun)} (child ${kb(bareRun.bytes)}, batch ${kb(bareBatch.bytes)})`,
        ratio: bytesPerRun / bareBytesPerRun,
        // Issue 27: what Temporal stores of a run, within 1.5× the bare app's.
        target: '≤ 1.5×',
        met: bytesPerRun / bareBytesPerRun <= 1.5,
      },
    ];
  },
};
