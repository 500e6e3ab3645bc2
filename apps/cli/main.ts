/**
 * `flowruns`: the CI verdict in one command, and the everyday operations. Exit codes: 0 every
 * run passed (or the command did what it was asked), 1 a run failed, timed out or was cancelled
 * (or flows did not validate), 2 a usage or platform error. Configured by FLOWRUNS_URL and
 * FLOWRUNS_API_KEY, or --url and --api-key.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import YAML from 'yaml';
import { flowInputSchema, toFlowDefinition } from '../../domain/flow-definition';
import { ApiError, FlowRunsClient, type RunDetail } from '../client';
import { junitXml } from './junit';

/** Exit codes, as docs/cli.md documents them. */
const PASSED = 0;
const FAILED = 1;
const USAGE = 2;

class Exit extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  tty: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function keyValues(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Exit(USAGE, `--env expects KEY=VALUE, got "${pair}"`);
    env[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return env;
}

function clientOf(opts: { url?: string; apiKey?: string }, io: Io): FlowRunsClient {
  const baseUrl = opts.url ?? io.env.FLOWRUNS_URL ?? 'http://127.0.0.1:3000';
  const apiKey = opts.apiKey ?? io.env.FLOWRUNS_API_KEY;
  if (!apiKey) throw new Exit(USAGE, 'no API key: set FLOWRUNS_API_KEY or pass --api-key');
  return new FlowRunsClient({ baseUrl, apiKey });
}

/** A trigger retried on network failures with the same Idempotency-Key, so it starts one batch. */
async function withRetries<T>(what: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const retryable = !(err instanceof ApiError) || err.status >= 500 || err.status === 429;
      if (!retryable || attempt >= 4) throw err;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}

const mark = (status: string) => ({ succeeded: '✓', failed: '✗', cancelled: '⊘', timed_out: '⏱', skipped: '-' })[status] ?? '•';

/** Follows the batch's event stream, printing progress; falls back to polling if the stream is not available. */
async function follow(client: FlowRunsClient, batchId: string, io: Io, quiet: boolean): Promise<void> {
  const names = new Map<string, string>();
  const status = await client.batch(batchId);
  for (const r of status.runs) names.set(r.id, r.flow_name);
  let done = 0;
  const total = status.runs.length;
  const say = (line: string) => {
    if (quiet) return;
    if (io.tty) io.err(`[${done}/${total}] ${line}`);
    else io.err(line);
  };
  try {
    for await (const e of client.events('batches', batchId)) {
      const flow = names.get(e.data.run_id) ?? e.data.run_id;
      if (e.event === 'run.started') say(`▶ ${flow}`);
      else if (e.event === 'step.finished') say(`  ${mark(e.data.status ?? '')} ${flow} › ${e.data.step_id} ${e.data.status}`);
      else if (e.event === 'run.waiting') say(`  ⏸ ${flow} waiting for approval`);
      else if (e.event === 'run.finished') {
        done++;
        say(`${mark(e.data.status ?? '')} ${flow} ${e.data.status}`);
      }
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      // A gateway without event streams: poll instead.
      for (;;) {
        const s = await client.batch(batchId);
        if (s.is_complete) return;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    throw err;
  }
}

async function results(client: FlowRunsClient, batchId: string): Promise<RunDetail[]> {
  const status = await client.batch(batchId);
  return Promise.all(status.runs.map((r) => client.run(r.id)));
}

function verdict(runs: RunDetail[]): number {
  return runs.every((r) => r.status === 'succeeded') ? PASSED : FAILED;
}

/** Flow files: one path, or every .json/.yaml/.yml file in a directory (sorted, not recursive). */
function flowFiles(target: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw new Exit(USAGE, `no such file or directory: ${target}`);
  }
  if (!stat.isDirectory()) return [target];
  return fs
    .readdirSync(target)
    .filter((f) => /\.(json|ya?ml)$/i.test(f))
    .sort()
    .map((f) => path.join(target, f));
}

function readFlow(file: string): unknown {
  const text = fs.readFileSync(file, 'utf8');
  try {
    return /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    throw new Exit(FAILED, `${file}: not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
}

/** Validates flow files as the API does; the valid ones with their definitions, the problems printed. */
function validateFiles(files: string[], io: Io): { ok: boolean; flows: { file: string; id: string; body: unknown; definition: ReturnType<typeof toFlowDefinition> }[] } {
  let ok = true;
  const flows = [];
  for (const file of files) {
    const body = readFlow(file);
    const parsed = flowInputSchema.safeParse(body);
    if (!parsed.success) {
      ok = false;
      for (const issue of parsed.error.issues) io.err(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
      continue;
    }
    if (!parsed.data.id) {
      ok = false;
      io.err(`${file}: id: a flow file needs an id`);
      continue;
    }
    flows.push({ file, id: parsed.data.id, body, definition: toFlowDefinition(parsed.data, parsed.data.id) });
  }
  return { ok, flows };
}

/** JSON with object keys sorted, so equal definitions compare equal. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value as object).sort(([a], [b]) => a.localeCompare(b))) : value,
  );

const DEFINITION_KEYS = ['id', 'name', 'type', 'description', 'variables', 'secrets', 'notify', 'configs', 'steps'] as const;
const definitionPart = (d: Record<string, unknown>) => Object.fromEntries(DEFINITION_KEYS.filter((k) => d[k] !== undefined).map((k) => [k, d[k]]));

export function program(io: Io): { cli: Command; exitCode: () => number } {
  let exitCode = PASSED;
  /** An action whose result is the exit code. */
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      exitCode = await fn(...args);
    };
  const cli = new Command('flowruns')
    .description('Trigger and follow Flow Runs from CI; manage flows and runs')
    .option('--url <url>', 'the gateway (default FLOWRUNS_URL, else http://127.0.0.1:3000)')
    .option('--api-key <key>', 'an API key (default FLOWRUNS_API_KEY)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError();
  const globals = () => cli.opts<{ url?: string; apiKey?: string }>();

  cli
    .command('run')
    .description('Start a batch of flow runs; with --wait, follow it and exit 0 when every run passed, 1 otherwise')
    .option('--app <id>', 'the app to run against')
    .option('--suite <id>', 'a suite to run (repeatable)', collect)
    .option('--flow <id>', 'a flow to run (repeatable)', collect)
    .option('--env <KEY=VALUE>', 'a variable for this batch (repeatable)', collect)
    .option('--browser <name>', 'the browser a web app runs in')
    .addOption(new Option('--max-parallel <n>', 'runs at once').argParser((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 100) throw new Exit(USAGE, '--max-parallel takes a whole number from 1 to 100');
      return n;
    }))
    .option('--wait', 'follow the batch until it completes')
    .option('--junit <file>', 'write a JUnit XML report (implies --wait)')
    .option('--json', 'print the results as JSON')
    .action(act(async (opts: { app?: string; suite?: string[]; flow?: string[]; env?: string[]; browser?: string; maxParallel?: number; wait?: boolean; junit?: string; json?: boolean }) => {
      if (!opts.suite?.length && !opts.flow?.length) throw new Exit(USAGE, 'name at least one --flow or --suite');
      const client = clientOf(globals(), io);
      const key = randomUUID();
      const batch = await withRetries('trigger', () =>
        client.trigger(
          {
            ...(opts.app ? { app_id: opts.app } : {}),
            ...(opts.suite ? { suite_ids: opts.suite } : {}),
            ...(opts.flow ? { flow_ids: opts.flow } : {}),
            ...(opts.env ? { env: keyValues(opts.env) } : {}),
            ...(opts.browser ? { browser: opts.browser } : {}),
            ...(opts.maxParallel ? { max_parallel: opts.maxParallel } : {}),
            source: 'ci',
          },
          key,
        ),
      );
      io.err(`batch ${batch.batch_id}: ${batch.runs.length} run(s) started`);
      if (!opts.wait && !opts.junit) {
        io.out(opts.json ? JSON.stringify(batch, null, 2) : batch.batch_id);
        return PASSED;
      }
      await follow(client, batch.batch_id, io, !!opts.json && !io.tty);
      const runs = await results(client, batch.batch_id);
      const base = (globals().url ?? io.env.FLOWRUNS_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
      if (opts.junit) {
        fs.writeFileSync(
          opts.junit,
          junitXml(runs, (r) => ({
            run_url: `${base}/api/v1/runs/${r.id}`,
            ...(r.artifacts.log_url ? { log_url: r.artifacts.log_url } : {}),
            ...(r.artifacts.network_requests_url ? { network_url: r.artifacts.network_requests_url } : {}),
          })),
        );
        io.err(`JUnit report written to ${opts.junit}`);
      }
      if (opts.json) io.out(JSON.stringify({ batch_id: batch.batch_id, runs }, null, 2));
      else for (const r of runs) io.out(`${mark(r.status)} ${r.flow_name} ${r.status}${r.error ? ` — ${r.error.step}: ${r.error.message}` : ''} (${r.id})`);
      return verdict(runs);
    }));

  const flows = cli.command('flows').description('Flow definitions as files');
  flows
    .command('validate')
    .description('Check flow files (JSON or YAML) as the API would, offline; exit 1 on any problem')
    .requiredOption('-f, --file <path>', 'a flow file or a directory of them')
    .action(act(async (opts: { file: string }) => {
      const { ok, flows: valid } = validateFiles(flowFiles(opts.file), io);
      for (const f of valid) io.out(`✓ ${f.file}: flow ${f.id}`);
      return ok ? PASSED : FAILED;
    }));
  flows
    .command('apply')
    .description('Create or update flows from files; a flow that did not change is left alone')
    .requiredOption('-f, --file <path>', 'a flow file or a directory of them')
    .action(act(async (opts: { file: string }) => {
      const { ok, flows: valid } = validateFiles(flowFiles(opts.file), io);
      if (!ok) return FAILED;
      const client = clientOf(globals(), io);
      for (const f of valid) {
        const current = await client.flow(f.id);
        if (current && canonical(definitionPart(current as Record<string, unknown>)) === canonical(definitionPart(f.definition as unknown as Record<string, unknown>))) {
          io.out(`= ${f.id} unchanged (version ${current.version})`);
          continue;
        }
        const saved = await client.putFlow(f.id, f.body);
        io.out(`${current ? '~' : '+'} ${f.id} ${current ? 'updated' : 'created'} (version ${saved.version})`);
      }
      return PASSED;
    }));

  const runs = cli.command('runs').description('Runs of the account');
  runs
    .command('list')
    .description('Recent runs, newest first')
    .option('--flow <id>', 'only runs of this flow')
    .option('--limit <n>', 'how many (1-100)', '20')
    .option('--json', 'print JSON')
    .action(act(async (opts: { flow?: string; limit: string; json?: boolean }) => {
      const page = await clientOf(globals(), io).runs({ flowId: opts.flow, limit: Number(opts.limit) });
      if (opts.json) io.out(JSON.stringify(page.items, null, 2));
      else for (const r of page.items) io.out(`${mark(r.phase)} ${r.id}  ${r.flowId}  ${r.phase}  ${r.startTime ?? ''}`);
      return PASSED;
    }));
  runs
    .command('get <runId>')
    .description("A run's results as JSON")
    .action(act(async (runId: string) => {
      io.out(JSON.stringify(await clientOf(globals(), io).run(runId), null, 2));
      return PASSED;
    }));
  runs
    .command('cancel <runId>')
    .description('Cancel a run')
    .action(act(async (runId: string) => {
      const r = await clientOf(globals(), io).cancel(runId);
      io.out(`${r.id} ${r.status}`);
      return PASSED;
    }));
  runs
    .command('rerun <runId>')
    .description('Run it again: same flow version, inputs and variables')
    .action(act(async (runId: string) => {
      const r = await clientOf(globals(), io).rerun(runId);
      io.out(`batch ${r.batch_id}: ${r.runs.map((x) => `${x.id} (rerun of ${x.rerun_of})`).join(', ')}`);
      return PASSED;
    }));
  runs
    .command('logs <runId>')
    .description("A run's log; with --follow, until the run ends")
    .option('--follow', 'keep printing new lines until the run finishes')
    .action(act(async (runId: string, opts: { follow?: boolean }) => {
      const client = clientOf(globals(), io);
      if (!opts.follow) {
        for (const line of (await client.logs(runId)).split('\n').filter(Boolean)) {
          const l = JSON.parse(line) as { timestamp: string; level: string; message: string };
          io.out(`${l.timestamp} ${l.level.padEnd(5)} ${l.message}`);
        }
        return PASSED;
      }
      for await (const e of client.events('runs', runId)) io.out(`${e.data.timestamp} ${e.data.level.padEnd(5)} ${e.data.message}`);
      return PASSED;
    }));
  return { cli, exitCode: () => exitCode };
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const { cli, exitCode } = program(io);
  try {
    await cli.parseAsync(argv, { from: 'user' });
    return exitCode();
  } catch (err) {
    if (err instanceof Exit) {
      if (err.message) io.err(`flowruns: ${err.message}`);
      return err.code;
    }
    if (err instanceof CommanderError) return err.exitCode === 0 ? PASSED : USAGE;
    if (err instanceof ApiError) {
      io.err(`flowruns: ${err.message}`);
      return USAGE;
    }
    io.err(`flowruns: ${(err as Error).message ?? err}`);
    return USAGE;
  }
}
