/**
 * `flowruns`: the CI verdict in one command, and the everyday operations. Exit codes: 0 every
 * run passed (or the command did what it was asked), 1 a run failed, timed out or was cancelled
 * (or definitions did not validate), 2 a usage or platform error. Configured by FLOWRUNS_URL,
 * FLOWRUNS_API_KEY and FLOWRUNS_APP, or --url, --api-key and --app.
 */
import { Command, CommanderError } from 'commander';
import { addBatchCommands } from './batches';
import { ApiError } from './client';
import { completionScript } from './completion';
import { addFlowCommands } from './flows';
import { clientOf, Exit, mark, PASSED, USAGE, type GlobalOptions, type Io } from './io';
import { addRunCommand } from './run';

export type { Io };

/** The package's version (the launcher answers `--version` before loading this; here for `help`). */
function version(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the file beside dist/ or src/
    return (require('../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function program(io: Io): { cli: Command; exitCode: () => number } {
  let exitCode = PASSED;
  /** An action whose result is the exit code. */
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      exitCode = await fn(...args);
    };
  const cli = new Command('flowruns')
    .description('Trigger and follow Flow Runs from CI; manage flows, suites and schedules as files')
    .version(version(), '-V, --version')
    .option('--url <url>', 'the gateway (default FLOWRUNS_URL, else http://127.0.0.1:3000)')
    .option('--api-key <key>', 'an API key (default FLOWRUNS_API_KEY)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError();
  const globals = () => cli.opts<GlobalOptions>();

  addRunCommand(cli, globals, io, act);
  addBatchCommands(cli, globals, io, act);
  addFlowCommands(cli, globals, io, act);

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
  cli
    .command('completion <shell>')
    .description('Print a completion script: source <(flowruns completion bash), or zsh')
    .action(act(async (shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') throw new Exit(USAGE, `completion takes bash or zsh, got "${shell}"`);
      io.out(completionScript(cli, shell).trimEnd());
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

/** The process's entry (bin/flowruns.js): stdout/stderr, its environment, its exit code. */
export function runMain(argv: string[]): void {
  void main(argv, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    tty: Boolean(process.stderr.isTTY),
  }).then((code) => {
    process.exitCode = code;
  });
}
