/**
 * JUnit XML of a finished batch, as CI report readers take it: one `<testsuite>` per run (named
 * after its flow), one `<testcase>` per step (named after the step) with its duration in seconds,
 * `<failure>` on a step that failed or was cancelled, `<skipped/>` on a skipped one, the run's
 * links as `<properties>` (`run_url` is the run's page, /ui/runs/{id}). With logs, each testcase
 * has `<system-out>` holding its step's log lines and `[[ATTACHMENT|<path>]]` lines for the files
 * `--artifacts` downloaded. A run that passed on a retry carries `<property name="flaky"
 * value="true"/>` and each earlier attempt's failure as a `<flakyFailure>` on its step's testcase
 * (Maven Surefire's element); a run that failed on every attempt has its earlier ones as
 * `<rerunFailure>`. A run that failed outside any step gets a `run` testcase carrying it.
 */
import type { RunDetail } from '../client';
import { failuresOf, type RunResult } from '../outcome';

const escape = (s: string): string =>
  s
    // XML 1.0 has no way to write these control characters, not even as references.
    // eslint-disable-next-line no-control-regex -- matching them is the point
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');

const seconds = (ms: number | null | undefined): string => ((ms ?? 0) / 1000).toFixed(3);

interface Case {
  id: string;
  name: string;
  ms: number | null;
  failure?: { message: string; type: string; text?: string };
  skipped?: boolean;
  flaky: { message: string; type: string; text: string }[];
}

function casesOf(run: RunDetail): Case[] {
  const cases: Case[] = run.actions
    // A browser step's per-action entries share the step's id: the step's own entry is the testcase.
    .filter((a, i, all) => all.findIndex((b) => b.step_id === a.step_id) === i)
    .map((a) => ({
      id: a.step_id,
      name: a.name ?? a.step_id,
      ms: a.duration_ms ?? null,
      flaky: [],
      ...(a.status === 'failed' || a.status === 'cancelled'
        ? { failure: { message: a.error ?? `step ${a.status}`, type: a.status, text: a.error ?? undefined } }
        : {}),
      ...(a.status === 'skipped' ? { skipped: true } : {}),
    }));
  const failedInStep = cases.some((c) => c.failure);
  if (run.status !== 'succeeded' && !failedInStep)
    cases.push({ id: 'run', name: 'run', ms: run.duration_ms, flaky: [], failure: { message: run.error?.message ?? `run ${run.status}`, type: run.status } });
  return cases;
}

/** Per run: links as properties; with `logs`, each step's lines and files for `<system-out>`. */
export interface JunitExtras {
  links: (run: RunDetail) => Record<string, string>;
  /** Log lines of a run by step id. */
  logs?: Map<string, Map<string, string[]>>;
  /** Downloaded files of a run by step id (absolute paths). */
  attachments?: Map<string, Map<string, string[]>>;
}

/** Accepts plain runs (each one attempt) or results with their earlier attempts. */
export function junitXml(input: (RunDetail | RunResult)[], extras: JunitExtras | ((run: RunDetail) => Record<string, string>)): string {
  const opts: JunitExtras = typeof extras === 'function' ? { links: extras } : extras;
  const results: RunResult[] = input.map((r) => ('run' in r && 'earlier' in r ? r : { run: r as RunDetail, earlier: [], flaky: false }));
  const suites = results.map((result) => {
    const cases = casesOf(result.run);
    result.earlier.forEach((attempt, i) => {
      for (const f of failuresOf(attempt)) {
        const target = cases.find((c) => c.id === f.stepId) ?? cases.find((c) => c.name === f.step) ?? cases[cases.length - 1];
        const url = opts.links(attempt).run_url;
        target?.flaky.push({ message: f.message, type: attempt.status, text: `attempt ${i + 1} of ${result.earlier.length + 1} (run ${attempt.id}${url ? `, ${url}` : ''}) failed at ${f.step}: ${f.message}` });
      }
    });
    return { result, cases };
  });
  const count = (pick: (c: Case) => boolean) => suites.reduce((n, s) => n + s.cases.filter(pick).length, 0);
  const total = suites.reduce((ms, s) => ms + (s.result.run.duration_ms ?? 0), 0);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="flowruns" tests="${count(() => true)}" failures="${count((c) => !!c.failure)}" errors="0" skipped="${count((c) => !!c.skipped)}" time="${seconds(total)}">`);
  for (const [index, { result, cases }] of suites.entries()) {
    const { run } = result;
    const attrs = [
      `name="${escape(run.flow_name)}"`,
      // The Ant JUnit schema types `id` as an integer: the run's id is the `run_id` property.
      `id="${index}"`,
      `tests="${cases.length}"`,
      `failures="${cases.filter((c) => c.failure).length}"`,
      `errors="0"`,
      `skipped="${cases.filter((c) => c.skipped).length}"`,
      `time="${seconds(run.duration_ms)}"`,
      `timestamp="${escape(run.started_at ?? run.created_at)}"`,
    ];
    out.push(`  <testsuite ${attrs.join(' ')}>`);
    const props: Record<string, string> = {
      run_id: run.id,
      batch_id: run.batch_id ?? '',
      flow_id: run.flow_id,
      status: run.status,
      ...opts.links(run),
      ...(result.earlier.length ? { attempts: String(result.earlier.length + 1) } : {}),
      ...(result.flaky ? { flaky: 'true' } : {}),
    };
    out.push('    <properties>');
    for (const [name, value] of Object.entries(props)) out.push(`      <property name="${escape(name)}" value="${escape(String(value))}"/>`);
    out.push('    </properties>');
    const logs = opts.logs?.get(run.id);
    const files = opts.attachments?.get(run.id);
    for (const c of cases) {
      const body: string[] = [];
      if (c.failure) body.push(`      <failure message="${escape(c.failure.message)}" type="${escape(c.failure.type)}">${escape(c.failure.text ?? c.failure.message)}</failure>`);
      else if (c.skipped) body.push('      <skipped/>');
      // Surefire's names: a run that passed on a retry has flaky failures; one that never passed, rerun failures.
      const tag = result.flaky ? 'flakyFailure' : 'rerunFailure';
      for (const f of c.flaky) body.push(`      <${tag} message="${escape(f.message)}" type="${escape(f.type)}">${escape(f.text)}</${tag}>`);
      const lines = [...(logs?.get(c.id) ?? []), ...(files?.get(c.id) ?? []).map((p) => `[[ATTACHMENT|${p}]]`)];
      if (logs || files) body.push(`      <system-out>${escape([`run: ${props.run_url ?? run.id}`, ...lines].join('\n'))}</system-out>`);
      const open = `    <testcase name="${escape(c.name)}" classname="${escape(run.flow_id)}" time="${seconds(c.ms)}"`;
      out.push(...(body.length ? [`${open}>`, ...body, '    </testcase>'] : [`${open}/>`]));
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
