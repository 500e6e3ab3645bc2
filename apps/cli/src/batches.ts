/** `flowruns batches watch|cancel|rerun`: an existing batch, as the API's batch operations offer. */
import type { Command } from 'commander';
import type { FlowRunsClient } from './client';
import { baseUrlOf, batchPage, clientOf, FAILED, PASSED, type GlobalOptions, type Io } from './io';
import { resultOf, verdictOf, type Outcome } from './outcome';
import { jsonReport, textLines } from './reporters/report';
import { details, follow } from './wait';

/** Follows the batch to its end and prints its runs; exit 0 when every run passed. */
async function watch(client: FlowRunsClient, batchId: string, io: Io, base: string, json: boolean): Promise<number> {
  await follow(client, batchId, io, json && !io.tty);
  const status = await client.batch(batchId);
  const results = (await details(client, status.runs.map((r) => r.id))).map((r) => resultOf([r]));
  const outcome: Outcome = { batchId, verdict: verdictOf(results), results, base };
  if (json) io.out(jsonReport(outcome));
  else for (const line of textLines(outcome)) io.out(line);
  return outcome.verdict === 'passed' ? PASSED : FAILED;
}

export function addBatchCommands(cli: Command, globals: () => GlobalOptions, io: Io, act: <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>): void {
  const batches = cli.command('batches').description('Batches: follow, cancel or rerun one');
  batches
    .command('watch <batchId>')
    .description('Follow a batch until it ends; exit 0 when every run passed, 1 otherwise')
    .option('--json', 'print the results as JSON (with a top-level verdict)')
    .action(act(async (batchId: string, opts: { json?: boolean }) => watch(clientOf(globals(), io), batchId, io, baseUrlOf(globals(), io), !!opts.json)));
  batches
    .command('cancel <batchId>')
    .description('Cancel a batch: its running runs and those not started')
    .action(act(async (batchId: string) => {
      const r = await clientOf(globals(), io).cancelBatch(batchId);
      io.out(`${r.id ?? batchId} ${r.status}`);
      return PASSED;
    }));
  batches
    .command('rerun <batchId>')
    .description('Run a finished batch again as a new batch: all its runs, or with --failed its failed, cancelled and timed-out ones')
    .option('--failed', 'only the runs that did not pass')
    .option('--wait', 'follow the new batch; exit 0 when every run passed')
    .option('--json', 'print JSON')
    .action(act(async (batchId: string, opts: { failed?: boolean; wait?: boolean; json?: boolean }) => {
      const client = clientOf(globals(), io);
      const base = baseUrlOf(globals(), io);
      const r = await client.rerunBatch(batchId, opts.failed ? 'failed' : 'all');
      io.err(`batch ${r.batch_id}: ${r.runs.length} run(s) again — ${batchPage(base, r.batch_id)}`);
      if (opts.wait) return watch(client, r.batch_id, io, base, !!opts.json);
      if (opts.json) io.out(JSON.stringify(r, null, 2));
      else {
        io.out(r.batch_id);
        for (const run of r.runs) io.err(`  ${run.id} (rerun of ${run.rerun_of})`);
      }
      return PASSED;
    }));
}
