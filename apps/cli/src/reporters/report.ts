/**
 * What `run --wait` prints: the text lines (default), the JSON document (`--json`, with a
 * top-level `verdict`), and for `--reporter github` the workflow commands GitHub turns into
 * annotations plus a Markdown summary appended to `$GITHUB_STEP_SUMMARY`.
 */
import fs from 'node:fs';
import { duration, mark, runPage } from '../io';
import { failuresOf, type Outcome, type RunResult } from '../outcome';

const statusOf = (r: RunResult): string => (r.flaky ? 'flaky' : r.run.status);

/** One line per run: mark, flow, status (`flaky` when it passed on a retry), why, its page. */
export function textLines(outcome: Outcome): string[] {
  const lines = outcome.results.map((r) => {
    const link = runPage(outcome.base, r.run.id);
    if (r.flaky) {
      const first = failuresOf(r.earlier[0])[0];
      return `${mark('flaky')} ${r.run.flow_name} flaky — passed on attempt ${r.earlier.length + 1}${first ? `; attempt 1 failed at ${first.step}: ${first.message}` : ''} ${link}`;
    }
    const tries = r.earlier.length ? ` after ${r.earlier.length + 1} attempts` : '';
    return `${mark(r.run.status)} ${r.run.flow_name} ${r.run.status}${tries}${r.run.error ? ` — ${r.run.error.step}: ${r.run.error.message}` : ''} ${link}`;
  });
  lines.push(`verdict: ${outcome.verdict}${outcome.why ? ` (${outcome.why})` : ''}`);
  return lines;
}

export function jsonReport(outcome: Outcome): string {
  return JSON.stringify(
    {
      verdict: outcome.verdict,
      ...(outcome.why ? { reason: outcome.why } : {}),
      batch_id: outcome.batchId,
      flaky: outcome.results.filter((r) => r.flaky).length,
      runs: outcome.results.map((r) => ({
        ...r.run,
        url: runPage(outcome.base, r.run.id),
        flaky: r.flaky,
        attempts: [...r.earlier, r.run].map((a) => ({ id: a.id, status: a.status, error: a.error, url: runPage(outcome.base, a.id) })),
      })),
    },
    null,
    2,
  );
}

/** GitHub workflow commands: `%`, CR and LF escaped in data; `:` and `,` too in properties. */
const data = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const property = (s: string) => data(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** `::error title=<flow> › <step>::<message>` per failed step; `::warning` for a flaky run's first failure. */
export function githubAnnotations(outcome: Outcome): string[] {
  const lines: string[] = [];
  for (const r of outcome.results) {
    if (r.flaky) {
      const first = failuresOf(r.earlier[0])[0];
      lines.push(`::warning title=${property(`${r.run.flow_name} (flaky)`)}::${data(`passed on attempt ${r.earlier.length + 1}${first ? `; attempt 1 failed at ${first.step}: ${first.message}` : ''} — ${runPage(outcome.base, r.run.id)}`)}`);
      continue;
    }
    for (const f of failuresOf(r.run)) lines.push(`::error title=${property(`${r.run.flow_name} › ${f.step}`)}::${data(f.message)}`);
  }
  return lines;
}

const ICON: Record<string, string> = { succeeded: '✅', failed: '❌', flaky: '⚠️', cancelled: '⊘', timed_out: '⏱', running: '▶', waiting: '⏸', queued: '…' };
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** The step summary: a heading with the verdict, then a table of runs (status, duration, link to the run's page). */
export function githubSummary(outcome: Outcome): string {
  const lines = [
    `### Flow Runs: ${outcome.verdict}${outcome.why ? ` (${outcome.why})` : ''}`,
    '',
    `Batch \`${outcome.batchId}\` — ${outcome.results.length} run(s)`,
    '',
    '| Flow | Status | Duration | Run |',
    '| --- | --- | --- | --- |',
  ];
  for (const r of outcome.results) {
    const status = statusOf(r);
    const why = r.run.error ? ` — ${r.run.error.step}: ${r.run.error.message}` : '';
    lines.push(`| ${cell(r.run.flow_name)} | ${ICON[status] ?? ''} ${status}${cell(why)} | ${duration(r.run.duration_ms)} | [${r.run.id}](${runPage(outcome.base, r.run.id)}) |`);
  }
  return `${lines.join('\n')}\n\n`;
}

export function appendGithubSummary(outcome: Outcome, env: NodeJS.ProcessEnv): void {
  if (env.GITHUB_STEP_SUMMARY) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, githubSummary(outcome));
}
