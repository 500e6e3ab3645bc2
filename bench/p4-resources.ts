/**
 * P4: resources. The platform worker in a process of its own, compiled as production runs it
 * (`npm run build`, `npm run start:worker`; from source with tsx only its idle size is read), through BATCHES × 50 runs of the fanout flow (a batch runs each flow
 * once, and holds at most 500), all triggered at once as in P1, its VmRSS sampled
 * every 100 ms from /proc; then the gateway's throughput on GET /api/v1/runs/status of a finished
 * 50-run batch, measured by bench/load.ts in another process (10 keep-alive connections).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BenchContext, Benchmark, Row } from './report';
import { buildWorker, defineFlow, fanoutFlows, requireSucceeded, sleep, startChildWorker, startPlatform, triggerBatch, waitForBatches } from './stack';

const execFileAsync = promisify(execFile);

/** VmRSS of `pid` in MB, and of it with its descendants (the JSONata evaluator processes). */
function rss(pid: number): { own: number; tree: number } {
  const kb = (p: number): number => {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  };
  const children = (p: number): number[] => {
    try {
      return fs
        .readdirSync(`/proc/${p}/task`)
        .flatMap((t) => fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      return [];
    }
  };
  const all: number[] = [];
  const queue = [pid];
  while (queue.length && all.length < 200) {
    const p = queue.shift()!;
    all.push(p);
    queue.push(...children(p));
  }
  return { own: kb(pid) / 1024, tree: all.reduce((s, p) => s + kb(p), 0) / 1024 };
}

export const p4: Benchmark = {
  name: 'p4',
  title: 'P4 worker memory, gateway throughput',
  async run(ctx: BenchContext): Promise<Row[]> {
    const batches = ctx.quick ? 2 : 20;
    const runs = batches * 50;
    const seconds = ctx.quick ? 2 : 10;
    const taskQueue = `bench-p4-${randomBytes(4).toString('hex')}`;
    // A gateway on the child worker's task queue; the in-process worker polls another one.
    const platform = await startPlatform(ctx.services, { worker: false, taskQueue });
    // From source (npm run worker, tsx compiling in process) only its idle size is read; the runs go
    // to the worker as production runs it, compiled (npm run build; npm run start:worker).
    const fromSource = await startChildWorker(ctx.services, `${taskQueue}-source`);
    const sourceIdle = rss(fromSource.pid);
    await fromSource.stop();
    ctx.log('P4 compiling the worker (tsc -p tsconfig.build.json)');
    const worker = await startChildWorker(ctx.services, taskQueue, await buildWorker());
    try {
      const flows = fanoutFlows('bench-p4', 50, ctx.stub.url);
      const appId = await defineFlow(platform, flows);
      const idle = rss(worker.pid);
      let peak = idle;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const now = rss(worker.pid);
          peak = { own: Math.max(peak.own, now.own), tree: Math.max(peak.tree, now.tree) };
          await sleep(100);
        }
      })();
      ctx.log(`P4 ${batches} batches × 50 runs on a worker process (pid ${worker.pid})`);
      const started = Date.now();
      const triggered = await Promise.all(Array.from({ length: batches }, () => triggerBatch(platform, appId, flows, 50, 50)));
      requireSucceeded(await waitForBatches(platform, triggered.map((b) => b.batchId), 30 * 60_000, 500));
      const tookMs = Date.now() - started;
      sampling = false;
      await sampler;

      const small = await triggerBatch(platform, appId, flows, 50, 50);
      requireSucceeded(await waitForBatches(platform, [small.batchId], 120_000));
      ctx.log(`P4 ${seconds} s of GET /api/v1/runs/status`);
      const { stdout } = await execFileAsync(
        process.execPath,
        ['--import', 'tsx', path.join(__dirname, 'load.ts'), `${platform.baseUrl}/api/v1/runs/status?batch_id=${small.batchId}`, platform.adminKey, String(seconds), '10', String(ctx.quick ? 1 : 3)],
        { timeout: (seconds + 60) * 1000 },
      );
      const load = JSON.parse(stdout) as { requests: number; errors: number; rps: number };
      if (load.errors) throw new Error(`${load.errors} status requests failed under load`);
      return [
        {
          id: 'P4',
          benchmark: `worker RSS through ${runs} runs (${batches} batches × 50, compiled worker process)`,
          figure: `peak ${peak.own.toFixed(0)} MB (idle ${idle.own.toFixed(0)} MB; with evaluator processes ${peak.tree.toFixed(0)} MB; from source with tsx idle ${sourceIdle.own.toFixed(0)} MB; the runs took ${(tookMs / 1000).toFixed(1)} s)`,
          value: peak.own,
          reference: '—',
          ratio: null,
          target: '≤ 250 MB',
          met: peak.own <= 250,
        },
        {
          id: 'P4',
          benchmark: 'gateway GET /api/v1/runs/status (50 runs), 10 keep-alive connections, after a warm-up',
          figure: `${load.rps.toFixed(0)} req/s`,
          value: load.rps,
          reference: '—',
          ratio: null,
          target: '≥ 1,000 req/s on 2 cores',
          met: load.rps >= 1000,
          note: 'a status read with the admin key (as here) is one statement, the batch with the summary columns of its 50 runs (apps/gateway/runs/queries.ts, findBatchStatus); an account key adds its lookup',
        },
      ];
    } finally {
      await worker.stop();
      await platform.stop();
    }
  },
};
