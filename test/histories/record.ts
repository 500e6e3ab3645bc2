/**
 * Records the workflow histories that test/workflows/replay.test.ts replays: real runs of the
 * current workflow code on the real stack (gateway + worker over Temporal and Postgres), with
 * every http step calling a local stub server on 127.0.0.1. The scenarios are
 * test/histories/scenarios.ts.
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
import { batchChunkWorkflowId, batchWorkflowId, runWorkflowId } from '../../workflows/definitions';
import { startStack, startWorkers } from '../harness';
import { startStub } from '../stub-server';
import { historyToJSON } from './history-json';
import { SCENARIOS, type Ctx, type Scenario } from './scenarios';

/** HISTORIES_OUT_DIR writes elsewhere, e.g. when recording from a checkout of an older commit. */
const OUT_DIR = process.env.HISTORIES_OUT_DIR ? path.resolve(process.env.HISTORIES_OUT_DIR) : __dirname;

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
