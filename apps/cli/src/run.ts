/**
 * `flowruns run`: start a batch; with `--wait` (or any reporter), follow it to its verdict, rerun
 * failed runs up to `--retries` times (a run that then passes is flaky), cancel the batch when the
 * job is interrupted or `--timeout` runs out, and report as text, JSON, JUnit and GitHub.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Command } from 'commander';
import { idempotencyKey } from './ci';
import type { FlowRunsClient, RunDetail, TriggerBody, TriggeredBatch } from './client';
import { baseUrlOf, batchPage, clientOf, collect, Exit, FAILED, keyValues, PASSED, USAGE, withRetries, type GlobalOptions, type Io } from './io';
import { downloadArtifacts, logsByStep, resultOf, verdictOf, type Outcome } from './outcome';
import { junitXml } from './reporters/junit';
import { appendGithubSummary, githubAnnotations, jsonReport, textLines } from './reporters/report';
import { details, follow, Guard, settle } from './wait';

export interface RunOptions {
  app?: string;
  suite?: string[];
  flow?: string[];
  env?: string[];
  browser?: string;
  maxParallel?: number;
  wait?: boolean;
  junit?: string;
  json?: boolean;
  reporter?: string;
  timeout?: number;
  retries?: number;
  idempotencyKey?: string;
  artifacts?: string;
}

const wholeNumber = (flag: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Exit(USAGE, `${flag} takes a whole number from ${min} to ${max}`);
  return n;
};

export function addRunCommand(cli: Command, globals: () => GlobalOptions, io: Io, act: (fn: (opts: RunOptions) => Promise<number>) => (opts: RunOptions) => Promise<void>): void {
  cli
    .command('run')
    .description('Start a batch of flow runs; with --wait, follow it and exit 0 when every run passed, 1 otherwise')
    .option('--app <id>', 'the app to run against (default FLOWRUNS_APP)')
    .option('--suite <id>', 'a suite to run (repeatable)', collect)
    .option('--flow <id>', 'a flow to run (repeatable)', collect)
    .option('--env <KEY=VALUE>', 'a variable for this batch (repeatable)', collect)
    .option('--browser <name>', 'the browser a web app runs in')
    .option('--max-parallel <n>', 'runs at once (1-100)', wholeNumber('--max-parallel', 1, 100))
    .option('--wait', 'follow the batch until it completes')
    .option('--junit <file>', 'write a JUnit XML report (implies --wait)')
    .option('--json', 'print the results as JSON (with a top-level verdict)')
    .option('--reporter <name>', 'github: ::error annotations and a $GITHUB_STEP_SUMMARY table (implies --wait)')
    .option('--timeout <seconds>', 'cancel the batch and exit 1 when it has not ended in time (implies --wait)', wholeNumber('--timeout', 1, 7 * 24 * 3600))
    .option('--retries <n>', 'rerun failed runs up to N times; a run passing on a retry is flaky (implies --wait)', wholeNumber('--retries', 0, 10))
    .option('--idempotency-key <key>', 'the trigger\'s Idempotency-Key (default: from the CI run, e.g. GITHUB_RUN_ID+GITHUB_RUN_ATTEMPT; else random)')
    .option('--artifacts <dir>', 'download screenshots and traces under DIR/<runId>/ (implies --wait)')
    .action(act((opts) => run(opts, globals(), io)));
}

async function run(opts: RunOptions, globals: GlobalOptions, io: Io): Promise<number> {
  if (!opts.suite?.length && !opts.flow?.length) throw new Exit(USAGE, 'name at least one --flow or --suite');
  if (opts.reporter && opts.reporter !== 'github') throw new Exit(USAGE, `--reporter takes github, got "${opts.reporter}"`);
  const app = opts.app ?? io.env.FLOWRUNS_APP;
  if (!app) throw new Exit(USAGE, 'missing --app <id>: the app to run against (or set FLOWRUNS_APP)');
  const client = clientOf(globals, io);
  const body: TriggerBody = {
    app_id: app,
    ...(opts.suite ? { suite_ids: opts.suite } : {}),
    ...(opts.flow ? { flow_ids: opts.flow } : {}),
    ...(opts.env ? { env: keyValues(opts.env) } : {}),
    ...(opts.browser ? { browser: opts.browser } : {}),
    ...(opts.maxParallel ? { max_parallel: opts.maxParallel } : {}),
    source: 'ci',
  };
  const key = idempotencyKey(opts.idempotencyKey, io.env, createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16));
  const waits = opts.wait || opts.junit || opts.reporter || opts.timeout || opts.retries !== undefined || opts.artifacts;
  // Watching for signals (and the clock) from before the trigger: a job cancelled while the batch
  // is being created still cancels it, once its id is known.
  const guard = waits ? new Guard(io, opts.timeout) : undefined;
  let batch: TriggeredBatch;
  try {
    batch = await withRetries(() => client.trigger(body, key));
  } catch (err) {
    guard?.dispose();
    throw err;
  }
  const base = baseUrlOf(globals, io);
  io.err(`batch ${batch.batch_id}: ${batch.runs.length} run(s) started — ${batchPage(base, batch.batch_id)}`);
  if (!guard) {
    io.out(opts.json ? JSON.stringify(batch, null, 2) : batch.batch_id);
    return PASSED;
  }
  const outcome = await waitFor(client, batch, guard, opts, io, base);
  await report(client, outcome, opts, io);
  if (outcome.why) io.err(`flowruns: batch ${outcome.batchId} cancelled: ${outcome.why}`);
  return outcome.verdict === 'passed' || outcome.verdict === 'flaky' ? PASSED : FAILED;
}

/** Follows the batch, reruns failed runs up to --retries times, and stops (cancelling) on a signal or the timeout. */
async function waitFor(client: FlowRunsClient, batch: TriggeredBatch, guard: Guard, opts: RunOptions, io: Io, base: string): Promise<Outcome> {
  const quiet = !!opts.json && !io.tty;
  /** Attempts per flow run, keyed by the first run's id, in the batch's order. */
  const attempts = new Map<string, RunDetail[]>(batch.runs.map((r) => [r.id, []]));
  /** The runs being waited for now → the flow run they are an attempt of. */
  let current = new Map(batch.runs.map((r) => [r.id, r.id]));
  let batchId = batch.batch_id;
  const record = (runs: RunDetail[]) => {
    for (const d of runs) {
      const list = attempts.get(current.get(d.id) ?? d.id) ?? [];
      if (list[list.length - 1]?.id === d.id) list[list.length - 1] = d;
      else list.push(d);
    }
  };
  try {
    for (let round = 0; ; round++) {
      await follow(client, batchId, io, quiet, guard.signal);
      const finished = await details(client, [...current.keys()]);
      record(finished);
      const failed = finished.filter((d) => d.status !== 'succeeded');
      if (!failed.length || round >= (opts.retries ?? 0)) break;
      const rerun = await client.rerunBatch(batchId, 'failed');
      io.err(`retry ${round + 1} of ${opts.retries}: ${failed.map((d) => d.flow_name).join(', ')} again as batch ${rerun.batch_id}`);
      current = new Map(rerun.runs.map((r) => [r.id, current.get(r.rerun_of) ?? r.rerun_of]));
      batchId = rerun.batch_id;
    }
  } catch (err) {
    if (!guard.stopped) throw err;
    io.err(`flowruns: ${guard.stopped.why}: cancelling batch ${batchId}`);
    try {
      await client.cancelBatch(batchId);
      await settle(client, batchId);
      record(await details(client, [...current.keys()]));
    } catch (cancelErr) {
      io.err(`flowruns: cancelling batch ${batchId} failed: ${(cancelErr as Error).message}`);
    }
  } finally {
    guard.dispose();
  }
  const results = [...attempts.values()].filter((a) => a.length).map(resultOf);
  const stopped = guard.stopped;
  return { batchId: batch.batch_id, verdict: stopped ? stopped.verdict : verdictOf(results), ...(stopped ? { why: stopped.why } : {}), results, base };
}

async function report(client: FlowRunsClient, outcome: Outcome, opts: RunOptions, io: Io): Promise<void> {
  const attachments = opts.artifacts ? await downloadArtifacts(client, outcome, opts.artifacts, io) : undefined;
  if (opts.junit) {
    const logs = new Map<string, Map<string, string[]>>();
    for (const run of outcome.results.flatMap((r) => [...r.earlier, r.run])) logs.set(run.id, await logsByStep(client, run.id));
    const links = (r: RunDetail) => ({
      run_url: `${outcome.base}/ui/runs/${encodeURIComponent(r.id)}`,
      ...(r.artifacts.log_url ? { log_url: r.artifacts.log_url } : {}),
      ...(r.artifacts.network_requests_url ? { network_url: r.artifacts.network_requests_url } : {}),
    });
    fs.writeFileSync(opts.junit, junitXml(outcome.results, { links, logs, ...(attachments ? { attachments } : {}) }));
    io.err(`JUnit report written to ${opts.junit}`);
  }
  if (opts.reporter === 'github') {
    for (const line of githubAnnotations(outcome)) io.out(line);
    appendGithubSummary(outcome, io.env);
  }
  if (opts.json) io.out(jsonReport(outcome));
  else for (const line of textLines(outcome)) io.out(line);
}
