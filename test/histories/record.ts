/**
 * Records the workflow histories that test/workflows/replay.test.ts replays: real runs of the
 * current workflow code on the real stack (gateway + worker over Temporal and Postgres), with
 * every http step calling a local stub server on 127.0.0.1.
 *
 *   npx tsx test/histories/record.ts              # starts its own dev server and embedded Postgres
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 DATABASE_URL=postgres://… npx tsx test/histories/record.ts
 *   npx tsx test/histories/record.ts flow-run-approval   # only the scenarios named
 *
 * Re-record only on purpose: a history recorded by the code before a change is what proves the
 * change replays deterministically. Each scenario writes `<name>.json` (the flow-run, or the batch
 * for batch scenarios, whose children go to `<name>.child-<n>.json`), in the JSON form of
 * `historyToJSON` (the same as `temporal workflow show --output json`; see history-json.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Connection, type WorkflowHandle } from '@temporalio/client';
import { dropDatabase, ensureDatabase, startEmbeddedPostgres, withDatabase } from '../../apps/dev/postgres';
import { resolveTemporalBinary, startTemporalDevServer } from '../../apps/dev/temporal';
import { ensureSearchAttributes } from '../../platform/search-attributes';
import { installRuntime } from '../../apps/worker/worker';
import { openDatabase } from '../../db/data-source';
import type { RunProgress } from '../../domain/flow-types';
import { batchChunkWorkflowId, batchWorkflowId, runWorkflowId } from '../../workflows/definitions';
import { startStack, startWorkers, type Stack } from '../harness';
import { startStub, type Stub } from '../stub-server';
import { historyToJSON } from './history-json';

/** HISTORIES_OUT_DIR writes elsewhere, e.g. when recording from a checkout of an older commit. */
const OUT_DIR = process.env.HISTORIES_OUT_DIR ? path.resolve(process.env.HISTORIES_OUT_DIR) : __dirname;

interface Ctx {
  stack: Stack;
  stub: Stub;
  key: string;
  appId: string;
  flow(def: Record<string, unknown>): Promise<string>;
}

interface Triggered {
  batchId: string;
  runIds: string[];
}

interface Scenario {
  name: string;
  /** Creates what the scenario needs and triggers it. */
  trigger(ctx: Ctx): Promise<Triggered>;
  /** Acts on the running batch (approve, cancel) before it completes. */
  during?(ctx: Ctx, t: Triggered): Promise<void>;
  /** The batch history and its children's, rather than the one run's. */
  batch?: boolean;
}

const fastRetry = { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1 };

async function triggerFlows(ctx: Ctx, body: Record<string, unknown>): Promise<Triggered> {
  const res = await ctx.stack.call('POST', '/api/v1/flows/run', { app_id: ctx.appId, source: 'ci', ...body }, ctx.key);
  if (res.status !== 200) throw new Error(`trigger answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { batchId: res.body.batch_id, runIds: res.body.runs.map((r: { id: string }) => r.id) };
}

const oneFlow = (def: Record<string, unknown>, extra: Record<string, unknown> = {}) => async (ctx: Ctx) =>
  triggerFlows(ctx, { flow_ids: [await ctx.flow(def)], ...extra });

/** Polls the run's `progress` query until `ok` holds. */
async function waitForProgress(ctx: Ctx, runId: string, ok: (p: RunProgress) => boolean, timeoutMs = 30_000): Promise<RunProgress> {
  const handle = ctx.stack.client.workflow.getHandle(runWorkflowId(runId));
  const deadline = Date.now() + timeoutMs;
  let last: RunProgress | undefined;
  for (;;) {
    try {
      last = await handle.query<RunProgress>('progress');
      if (ok(last)) return last;
    } catch {
      // not started yet
    }
    if (Date.now() > deadline) throw new Error(`run ${runId} never reached the expected progress: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const decide = (verb: 'approve' | 'reject', stepId: string, comment: string) => async (ctx: Ctx, t: Triggered) => {
  await waitForProgress(ctx, t.runIds[0], (p) => p.status === 'waiting');
  const res = await ctx.stack.call('POST', `/api/v1/runs/${t.runIds[0]}/steps/${stepId}/${verb}`, { comment }, ctx.key);
  if (res.status !== 202) throw new Error(`${verb} answered ${res.status}: ${JSON.stringify(res.body)}`);
};

export const SCENARIOS: Scenario[] = [
  {
    name: 'flow-run-http-transform',
    trigger: (ctx) =>
      oneFlow(
        {
          variables: { U: ctx.stub.url },
          steps: [
            { id: 'orders', name: 'Query Orders', type: 'http', config: { url: '${env:U}/orders', expectStatus: [200] } },
            { id: 'report', type: 'transform', config: { expression: "{ 'count': $count(steps.orders.output.body), 'by': trigger.body.userId }" } },
            { id: 'notify', type: 'http', config: { method: 'POST', url: '${env:U}/slack', body: { text: 'Orders: {{steps.report.output.count}}' } } },
          ],
        },
        { data: { userId: 'user_123' } },
      )(ctx),
  },
  {
    name: 'flow-run-if-skip',
    trigger: oneFlow({
      steps: [
        { id: 'gate', type: 'transform', config: { expression: '1' } },
        { id: 'never', type: 'transform', if: 'steps.gate.output = 2', config: { expression: '"no"' } },
        { id: 'after-never', type: 'transform', dependsOn: ['never'], config: { expression: '"no"' } },
        { id: 'wait-never', type: 'delay', dependsOn: ['gate'], if: 'false', config: { durationMs: 60_000 } },
        { id: 'always', type: 'transform', dependsOn: ['gate', 'never'], config: { expression: '"ran"' } },
      ],
    }),
  },
  {
    name: 'flow-run-parallel-endonfail',
    trigger: (ctx) =>
      oneFlow({
        variables: { U: ctx.stub.url },
        configs: { endOnFail: true },
        steps: [
          { id: 'slow', type: 'http', dependsOn: [], config: { url: '${env:U}/slow' } },
          { id: 'bad', type: 'http', dependsOn: [], config: { url: '${env:U}/missing' } },
          { id: 'tick', type: 'delay', dependsOn: [], config: { durationMs: 60_000 } },
          { id: 'after', type: 'transform', dependsOn: ['slow', 'bad'], config: { expression: '1' } },
        ],
      })(ctx),
  },
  {
    name: 'flow-run-endonfail-false',
    trigger: (ctx) =>
      oneFlow({
        variables: { U: ctx.stub.url },
        configs: { endOnFail: false },
        steps: [
          { id: 'bad', type: 'http', dependsOn: [], config: { url: '${env:U}/missing' } },
          { id: 'after-bad', type: 'transform', dependsOn: ['bad'], config: { expression: '1' } },
          { id: 'good', type: 'delay', dependsOn: [], config: { durationMs: 200 } },
          { id: 'after-good', type: 'http', dependsOn: ['good'], config: { url: '${env:U}/fine' } },
        ],
      })(ctx),
  },
  {
    name: 'flow-run-retry',
    trigger: (ctx) =>
      oneFlow({
        variables: { U: ctx.stub.url },
        steps: [{ id: 'flaky', type: 'http', config: { url: '${env:U}/flaky' }, retry: fastRetry }],
      })(ctx),
  },
  {
    name: 'flow-run-delay',
    trigger: oneFlow({
      steps: [
        { id: 'pause', type: 'delay', config: { durationMs: 500 } },
        { id: 'done', type: 'transform', config: { expression: 'steps.pause.output.delayedMs' } },
      ],
    }),
  },
  {
    name: 'flow-run-timeout',
    trigger: oneFlow({
      configs: { timeoutMs: 500 },
      steps: [
        { id: 'long', type: 'delay', config: { durationMs: 60_000 } },
        { id: 'never', type: 'transform', config: { expression: '1' } },
      ],
    }),
  },
  {
    name: 'flow-run-cancelled',
    trigger: oneFlow({
      steps: [
        { id: 'sleep', type: 'delay', config: { durationMs: 60_000 } },
        { id: 'never', type: 'transform', config: { expression: '1' } },
      ],
    }),
    during: async (ctx, t) => {
      await waitForProgress(ctx, t.runIds[0], (p) => p.steps[0]?.status === 'running');
      const res = await ctx.stack.call('POST', `/api/v1/runs/${t.runIds[0]}/cancel`, undefined, ctx.key);
      if (res.status !== 202) throw new Error(`cancel answered ${res.status}: ${JSON.stringify(res.body)}`);
    },
  },
  {
    name: 'flow-run-approval',
    trigger: oneFlow({
      steps: [
        { id: 'review', type: 'approval', config: { message: 'ship it?' } },
        { id: 'after', type: 'transform', config: { expression: 'steps.review.output.approved' } },
      ],
    }),
    during: decide('approve', 'review', 'lgtm'),
  },
  {
    name: 'flow-run-approval-rejected',
    trigger: oneFlow({
      steps: [
        { id: 'review', type: 'approval', config: { message: 'ship it?', timeoutMs: 600_000 } },
        { id: 'after', type: 'transform', config: { expression: '1' } },
      ],
    }),
    during: decide('reject', 'review', 'not today'),
  },
  {
    name: 'flow-run-approval-timeout',
    trigger: oneFlow({
      steps: [
        { id: 'review', type: 'approval', config: { message: 'anyone?', timeoutMs: 500 } },
        { id: 'after', type: 'transform', config: { expression: '1' } },
      ],
    }),
  },
  {
    name: 'flow-run-suite-auth',
    trigger: async (ctx) => {
      const login = await ctx.flow({
        variables: { U: ctx.stub.url },
        steps: [{ id: 'login', type: 'http', config: { method: 'POST', url: '${env:U}/login', body: { user: '${env:USER}' } } }],
      });
      const call = await ctx.flow({
        variables: { U: ctx.stub.url },
        steps: [{ id: 'call', type: 'http', config: { url: '${env:U}/me', headers: { authorization: 'Bearer {{auth.login.output.body.token}}' } } }],
      });
      const suite = await ctx.stack.call('POST', '/api/v1/suites', { name: 'recorded', flowIds: [call], authFlowId: login, variables: { USER: 'ann' } }, ctx.key);
      if (suite.status !== 201) throw new Error(`suite answered ${suite.status}: ${JSON.stringify(suite.body)}`);
      return triggerFlows(ctx, { suite_ids: [suite.body.id] });
    },
  },
  {
    name: 'batch-run-3-children',
    batch: true,
    trigger: async (ctx) => {
      const ids: string[] = [];
      for (const n of [1, 2, 3])
        ids.push(await ctx.flow({ variables: { U: ctx.stub.url }, steps: [{ id: 'hit', type: 'http', config: { url: `\${env:U}/flow-${n}` } }] }));
      return triggerFlows(ctx, { flow_ids: ids, max_parallel: 2 });
    },
  },
  {
    // Over the recorder's inline threshold (RECORDER_BATCH_LIMITS): run from a plan in two chunks of two.
    name: 'batch-run-planned',
    batch: true,
    trigger: async (ctx) => {
      const ids: string[] = [];
      for (const n of [1, 2]) ids.push(await ctx.flow({ variables: { U: ctx.stub.url }, steps: [{ id: 'hit', type: 'http', config: { url: `\${env:U}/planned-${n}?v=\${env:V}` } }] }));
      return triggerFlows(ctx, { flow_ids: ids, matrix: { V: ['a', 'b'] }, max_parallel: 2 });
    },
  },
  {
    // Runs whose start and end are recorded by step activities where a step can (a straight run;
    // parallel roots, a delay and a last step skipped by its \`if\`), by local activities where none
    // can (a failed last step).
    name: 'batch-run-run-records',
    batch: true,
    trigger: async (ctx) => {
      const U = { U: ctx.stub.url };
      const ids = [
        await ctx.flow({
          variables: U,
          steps: [
            { id: 'orders', type: 'http', config: { url: '${env:U}/orders?in-steps' } },
            { id: 'count', type: 'transform', config: { expression: '$count(steps.orders.output.body)' } },
          ],
        }),
        await ctx.flow({
          variables: U,
          steps: [
            { id: 'a', type: 'http', dependsOn: [], config: { url: '${env:U}/a' } },
            { id: 'pause', type: 'delay', dependsOn: [], config: { durationMs: 50 } },
            { id: 'never', type: 'http', dependsOn: ['a', 'pause'], if: '1 = 2', config: { url: '${env:U}/never' } },
          ],
        }),
        await ctx.flow({
          variables: U,
          steps: [
            { id: 'orders', type: 'http', config: { url: '${env:U}/orders?then-fail' } },
            { id: 'broken', type: 'http', retry: { maxAttempts: 1 }, config: { url: '${env:U}/missing' } },
          ],
        }),
      ];
      return triggerFlows(ctx, { flow_ids: ids, max_parallel: 3 });
    },
  },
  {
    // Three runs at once over an account bound of two (RECORDER_BATCH_LIMITS): two take their slots
    // at once, the third asks, waits (its ask retried) and starts once one of them has ended.
    name: 'batch-run-run-slots',
    batch: true,
    trigger: async (ctx) => {
      const ids: string[] = [];
      for (const n of [1, 2, 3]) ids.push(await ctx.flow({ variables: { U: ctx.stub.url }, steps: [{ id: 'hit', type: 'http', config: { url: `\${env:U}/slow?n=${n}` } }] }));
      return triggerFlows(ctx, { flow_ids: ids, max_parallel: 3 });
    },
  },
];

/**
 * Small enough that `batch-run-planned` runs from a plan in chunks, large enough that `batch-run-3-children`
 * does not; `batch-run-run-slots` runs one more run at once than the account's bound.
 */
const RECORDER_BATCH_LIMITS = { FLOWRUNS_BATCH_INLINE_RUNS: '3', FLOWRUNS_BATCH_CHUNK_RUNS: '2', FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT: '2' };

async function waitClosed(handle: WorkflowHandle): Promise<void> {
  try {
    await handle.result();
  } catch {
    // failed, cancelled and timed-out runs are recorded too
  }
}

async function exists(ctx: Ctx, workflowId: string): Promise<boolean> {
  return ctx.stack.client.workflow
    .getHandle(workflowId)
    .describe()
    .then(
      () => true,
      () => false,
    );
}

async function writeHistory(ctx: Ctx, workflowId: string, file: string): Promise<number> {
  const history = await ctx.stack.client.workflow.getHandle(workflowId).fetchHistory();
  fs.writeFileSync(path.join(OUT_DIR, file), `${historyToJSON(history)}\n`);
  return history.events?.length ?? 0;
}

async function record(ctx: Ctx, scenario: Scenario): Promise<void> {
  const started = Date.now();
  const t = await scenario.trigger(ctx);
  const batch = ctx.stack.client.workflow.getHandle(batchWorkflowId(t.batchId));
  await scenario.during?.(ctx, t);
  await waitClosed(batch);
  const written: string[] = [];
  if (scenario.batch) {
    written.push(`${scenario.name}.json (${await writeHistory(ctx, batchWorkflowId(t.batchId), `${scenario.name}.json`)} events)`);
    for (let i = 0; await exists(ctx, batchChunkWorkflowId(t.batchId, i)); i++) {
      const file = `${scenario.name}.chunk-${i + 1}.json`;
      written.push(`${file} (${await writeHistory(ctx, batchChunkWorkflowId(t.batchId, i), file)} events)`);
    }
    for (const [i, runId] of t.runIds.entries()) {
      const file = `${scenario.name}.child-${i + 1}.json`;
      written.push(`${file} (${await writeHistory(ctx, runWorkflowId(runId), file)} events)`);
    }
  } else {
    const desc = await ctx.stack.client.workflow.getHandle(runWorkflowId(t.runIds[0])).describe();
    written.push(`${scenario.name}.json (${await writeHistory(ctx, runWorkflowId(t.runIds[0]), `${scenario.name}.json`)} events, ${desc.status.name})`);
  }
  process.stdout.write(`[record] ${scenario.name}: ${written.join(', ')} in ${Date.now() - started}ms\n`);
}

function stubHandler(): Parameters<typeof startStub>[0] {
  let flaky = 0;
  return (req) => {
    const p = req.url.split('?')[0];
    if (p === '/orders') return { body: [{ id: 1 }, { id: 2 }, { id: 3 }] };
    if (p === '/login') return { body: { token: `tok-${(req.body as { user?: string })?.user}` } };
    if (p === '/missing') return { status: 404, body: 'no' };
    if (p === '/slow') return { delayMs: 3_000, body: { ok: true } };
    if (p === '/flaky') return flaky++ === 0 ? { status: 503, body: 'busy' } : { body: { ok: true } };
    return { body: { ok: true } };
  };
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const scenarios = only.length ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
  if (scenarios.length === 0) throw new Error(`no scenario named ${only.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);

  installRuntime('ERROR');
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-record-'));
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  process.env.TEMPORAL_NAMESPACE = namespace;
  const cleanup: (() => Promise<void>)[] = [];
  try {
    if (process.env.TEMPORAL_ADDRESS) {
      const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
      await ensureSearchAttributes(connection, namespace).finally(() => connection.close());
    } else {
      const server = await startTemporalDevServer({
        binary: await resolveTemporalBinary(),
        port: 0,
        headless: true,
        namespace,
        logFile: path.join(tmpDir, 'temporal.log'),
      });
      cleanup.unshift(server.stop);
      process.env.TEMPORAL_ADDRESS = server.address;
    }
    let adminUrl: string;
    if (process.env.DATABASE_URL) {
      adminUrl = withDatabase(process.env.DATABASE_URL, 'postgres');
    } else {
      const pg = await startEmbeddedPostgres({ dir: path.join(tmpDir, 'pg'), port: 0, database: 'postgres' });
      cleanup.unshift(pg.stop);
      adminUrl = pg.adminUrl;
    }
    const database = `flowruns_record_${randomBytes(6).toString('hex')}`;
    await ensureDatabase(adminUrl, database);
    cleanup.unshift(() => dropDatabase(adminUrl, database));
    process.env.DATABASE_URL = withDatabase(adminUrl, database);
    await (await openDatabase(process.env.DATABASE_URL)).destroy();

    const stack = await startStack({ env: RECORDER_BATCH_LIMITS });
    cleanup.unshift(stack.stop);
    const workers = await startWorkers(stack);
    cleanup.unshift(workers.stop);
    const stub = await startStub(stubHandler());
    cleanup.unshift(stub.close);
    const { apiKey: key } = await stack.newAccount('history-recorder');
    const app = await stack.call('POST', '/api/v1/apps', { name: 'recorder', platform: 'web', baseUrl: stub.url }, key);
    if (app.status !== 201) throw new Error(`creating the app answered ${app.status}: ${JSON.stringify(app.body)}`);
    let seq = 0;
    const ctx: Ctx = {
      stack,
      stub,
      key,
      appId: app.body.id,
      flow: async (def) => {
        const id = `recorded-${seq++}`;
        const res = await stack.call('POST', '/api/v1/flows', { id, name: id, ...def }, key);
        if (res.status !== 201) throw new Error(`creating a flow answered ${res.status}: ${JSON.stringify(res.body)}`);
        return id;
      },
    };
    for (const scenario of scenarios) await record(ctx, scenario);
  } finally {
    for (const fn of cleanup) await fn().catch((err) => process.stderr.write(`[record] cleanup: ${String(err)}\n`));
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`[record] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
