/**
 * The result of `run --wait` as every reporter sees it: each flow run with its attempts (the
 * first run and the reruns `--retries` made), whether it was flaky, and the batch's verdict.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FlowRunsClient, RunDetail } from './client';
import type { Io } from './io';

export type Verdict = 'passed' | 'flaky' | 'failed' | 'cancelled' | 'timed_out';

export interface RunResult {
  /** The last attempt: the run's result. */
  run: RunDetail;
  /** The earlier attempts, oldest first (each one failed, else it would not have been rerun). */
  earlier: RunDetail[];
  /** Passed on a retry after failing. */
  flaky: boolean;
}

export interface Outcome {
  batchId: string;
  verdict: Verdict;
  /** Why the CLI stopped waiting, when it did (a signal, the timeout). */
  why?: string;
  results: RunResult[];
  /** The gateway's base URL, for the run pages. */
  base: string;
}

export function resultOf(attempts: RunDetail[]): RunResult {
  const run = attempts[attempts.length - 1];
  const earlier = attempts.slice(0, -1);
  return { run, earlier, flaky: run.status === 'succeeded' && earlier.length > 0 };
}

export function verdictOf(results: RunResult[]): Verdict {
  if (!results.every((r) => r.run.status === 'succeeded')) return 'failed';
  return results.some((r) => r.flaky) ? 'flaky' : 'passed';
}

/** The step that failed a run and its message; a run that failed outside a step is `run`. */
export function failuresOf(run: RunDetail): { step: string; stepId: string; message: string }[] {
  // A browser step's per-action entries follow its own entry, with its id: the step's entry speaks for it.
  const failed = run.actions.filter((a, i, all) => a.status === 'failed' && all.findIndex((b) => b.step_id === a.step_id) === i);
  if (failed.length) return failed.map((a) => ({ step: a.name ?? a.step_id, stepId: a.step_id, message: a.error ?? 'step failed' }));
  if (run.status === 'succeeded') return [];
  return [{ step: run.error?.step ?? 'run', stepId: run.error?.step ?? 'run', message: run.error?.message ?? `run ${run.status}` }];
}

/** Files of a run, by step id: what `--artifacts DIR` downloaded under DIR/<runId>/. */
export type Attachments = Map<string, Map<string, string[]>>;

/** Downloads every attempt's screenshots and traces under dir/<runId>/<stepId>/; a file that fails is reported, not fatal. */
export async function downloadArtifacts(client: FlowRunsClient, outcome: Outcome, dir: string, io: Io): Promise<Attachments> {
  const found: Attachments = new Map();
  for (const run of outcome.results.flatMap((r) => [...r.earlier, r.run])) {
    const byStep = new Map<string, string[]>();
    found.set(run.id, byStep);
    const urls = new Map<string, string>();
    for (const a of run.actions) {
      for (const url of [a.screenshot_url, a.trace_url]) if (url) urls.set(url, a.step_id);
    }
    for (const [url, stepId] of urls) {
      const rest = decodeURIComponent(new URL(url, outcome.base).pathname.split('/artifacts/screenshots/')[1] ?? path.basename(url));
      const file = path.join(dir, run.id, ...rest.split('/').filter((p) => p && p !== '..'));
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, await client.download(url));
        byStep.set(stepId, [...(byStep.get(stepId) ?? []), path.resolve(file)]);
      } catch (err) {
        io.err(`flowruns: could not download ${url}: ${(err as Error).message}`);
      }
    }
  }
  return found;
}

/** A run's log lines by step id (`run` for the lines of no step), from its log artifact. */
export async function logsByStep(client: FlowRunsClient, runId: string): Promise<Map<string, string[]>> {
  const byStep = new Map<string, string[]>();
  let text = '';
  try {
    text = await client.logs(runId);
  } catch {
    return byStep;
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const l = JSON.parse(line) as { timestamp?: string; level?: string; step?: string | null; message?: string };
      const key = l.step ?? 'run';
      byStep.set(key, [...(byStep.get(key) ?? []), `${l.timestamp ?? ''} ${(l.level ?? '').padEnd(5)} ${l.message ?? ''}`]);
    } catch {
      // not a JSON line: skip it
    }
  }
  return byStep;
}
