/**
 * JUnit XML of a finished batch, as CI report readers take it: one `<testsuite>` per run (named
 * after its flow), one `<testcase>` per step (named after the step) with its duration in seconds,
 * `<failure>` on a step that failed or was cancelled, `<skipped/>` on a skipped one, and the run's
 * links as `<properties>`. A run that failed outside any step gets a `run` testcase carrying it.
 */
import type { RunDetail } from '../client';

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
  name: string;
  ms: number | null;
  failure?: { message: string; type: string; text?: string };
  skipped?: boolean;
}

function casesOf(run: RunDetail): Case[] {
  const cases: Case[] = run.actions.map((a) => ({
    name: a.name ?? a.step_id,
    ms: a.duration_ms ?? null,
    ...(a.status === 'failed' || a.status === 'cancelled'
      ? { failure: { message: a.error ?? `step ${a.status}`, type: a.status, text: a.error ?? undefined } }
      : {}),
    ...(a.status === 'skipped' ? { skipped: true } : {}),
  }));
  const failedInStep = cases.some((c) => c.failure);
  if (run.status !== 'succeeded' && !failedInStep)
    cases.push({ name: 'run', ms: run.duration_ms, failure: { message: run.error?.message ?? `run ${run.status}`, type: run.status } });
  return cases;
}

export function junitXml(runs: RunDetail[], links: (run: RunDetail) => Record<string, string>): string {
  const suites = runs.map((run) => ({ run, cases: casesOf(run) }));
  const count = (pick: (c: Case) => boolean) => suites.reduce((n, s) => n + s.cases.filter(pick).length, 0);
  const total = suites.reduce((ms, s) => ms + (s.run.duration_ms ?? 0), 0);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="flowruns" tests="${count(() => true)}" failures="${count((c) => !!c.failure)}" errors="0" skipped="${count((c) => !!c.skipped)}" time="${seconds(total)}">`);
  for (const [index, { run, cases }] of suites.entries()) {
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
    const props = { run_id: run.id, batch_id: run.batch_id ?? '', flow_id: run.flow_id, status: run.status, ...links(run) };
    out.push('    <properties>');
    for (const [name, value] of Object.entries(props)) out.push(`      <property name="${escape(name)}" value="${escape(String(value))}"/>`);
    out.push('    </properties>');
    for (const c of cases) {
      const open = `    <testcase name="${escape(c.name)}" classname="${escape(run.flow_id)}" time="${seconds(c.ms)}"`;
      if (c.failure) out.push(`${open}>`, `      <failure message="${escape(c.failure.message)}" type="${escape(c.failure.type)}">${escape(c.failure.text ?? c.failure.message)}</failure>`, '    </testcase>');
      else if (c.skipped) out.push(`${open}>`, '      <skipped/>', '    </testcase>');
      else out.push(`${open}/>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
