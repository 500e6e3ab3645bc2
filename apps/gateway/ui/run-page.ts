/**
 * `/ui/runs/{runId}`: a run's steps on a timeline (parallel branches side by side), each linked to
 * its place in the Temporal UI (`temporal.ui_url`, each activity step its event), its screenshots (each opening its visual review), artifacts and
 * log; cancel, rerun, resume and approve buttons. While the run is open the page follows its event
 * stream (`/ui/runs/{runId}/events`) and updates in place.
 */
import { isTerminalRun } from '../../../domain/statuses';
import type { AuthContext, RunDeps } from '../deps';
import { findRun, logsOfRun } from '../runs/queries';
import { stepEventLinks } from '../runs/temporal-links';
import { runDetail } from '../surfaces/ci-batches/use-cases';
import { badge, batchLink, duration, esc, flowLink, form, page, seg, time } from './html';

/** Statuses a run may be resumed from (runs/rerun.ts). */
const RESUMABLE = new Set(['failed', 'cancelled', 'timed_out']);

export async function runPage(deps: RunDeps, auth: AuthContext, csrf: string, runId: string, baseUrl: string): Promise<string> {
  const run = await runDetail(deps, auth.accountId, runId, baseUrl);
  const row = await findRun(deps.dataSource, auth.accountId, runId);
  const logs = row ? await logsOfRun(deps.dataSource, row.id, 500) : [];
  const temporalUi = run.temporal.ui_url;
  // Each activity step's event in the Temporal UI (its summary names the step); the workflow's page when there is none.
  const stepLinks = row ? await stepEventLinks(deps, row.id).catch(() => new Map<string, string>()) : new Map<string, string>();
  const id = seg(run.id);
  const starts = run.actions.map((a) => (a.started_at ? Date.parse(a.started_at) : NaN)).filter(Number.isFinite);
  const now = Date.now();
  const t0 = starts.length ? Math.min(...starts) : now;
  const t1 = Math.max(t0 + 1, ...run.actions.map((a) => (a.finished_at ? Date.parse(a.finished_at) : a.started_at ? now : t0)));
  const pct = (t: number) => ((t - t0) / (t1 - t0)) * 100;
  const timeline = run.actions
    .map((a) => {
      const s = a.started_at ? Date.parse(a.started_at) : null;
      const e = a.finished_at ? Date.parse(a.finished_at) : s !== null ? now : null;
      const bar =
        s === null ? '' : `<div class="bar ${esc(a.status)}" style="left:${pct(s).toFixed(2)}%;width:max(${(pct(e!) - pct(s)).toFixed(2)}%,4px)">${esc(duration(a.duration_ms))}</div>`;
      const isStep = !a.type.endsWith('.action');
      const link = isStep ? ` <a class="temporal" href="${esc(stepLinks.get(a.step_id) ?? temporalUi)}" aria-label="Step ${esc(a.name)} in the Temporal UI">Temporal</a>` : '';
      return `<tr><th scope="row">${esc(a.name)}</th><td>${esc(a.type)}${link}</td><td>${badge(a.status)}</td><td style="width:45%"><div class="row">${bar}</div></td><td>${esc(a.error ?? '')}</td></tr>`;
    })
    .join('');
  const open = !isTerminalRun(run.status);
  const approvals = run.actions
    .filter((a) => a.status === 'waiting')
    .map((a) => {
      const step = `/ui/runs/${id}/steps/${seg(a.step_id)}`;
      return `${form(`${step}/approve`, csrf, `<button type="submit" class="approve">Approve ${esc(a.name)}</button>`)} ${form(`${step}/reject`, csrf, `<button type="submit">Reject ${esc(a.name)}</button>`)}`;
    })
    .join(' ');
  const files = { performance_metrics_url: 'performance.json', log_url: 'log.jsonl', network_requests_url: 'network.jsonl' } as const;
  const artifacts = (Object.keys(files) as (keyof typeof files)[])
    .filter((name) => run.artifacts[name])
    .map((name) => `<li><a href="/ui/runs/${id}/artifacts/${files[name]}">${files[name]}</a></li>`)
    .join('');
  // Screenshots of browser steps, through the cookie-authorised route; each opens its visual review.
  const shots = [...new Map(run.actions.filter((a) => a.screenshot_url).map((a) => [a.screenshot_url!, a])).values()]
    .map((a) => {
      const file = decodeURIComponent(a.screenshot_url!.split('/').pop()!);
      const name = file.replace(/\.png$/, '');
      const src = `/ui/runs/${id}/screenshots/${seg(a.step_id)}/${seg(file)}`;
      const review = `/ui/runs/${id}/screenshots/${seg(name)}?step=${seg(a.step_id)}`;
      return `<figure><a href="${esc(review)}"><img src="${esc(src)}" alt="Screenshot ${esc(name)} of step ${esc(a.step_id)}" width="320"></a><figcaption>${esc(a.step_id)} · <a href="${esc(review)}">review ${esc(name)}</a> ${badge(a.status)}</figcaption></figure>`;
    })
    .join('');
  const resume = RESUMABLE.has(run.status)
    ? form(
        `/ui/runs/${id}/resume`,
        csrf,
        `<label for="resume-env">Variables for the resumed run (KEY=value, one a line; optional)</label><textarea id="resume-env" name="env" rows="2" cols="50"></textarea><div><button type="submit" id="resume">Resume from the failed step</button></div>`,
        'stack',
      )
    : '';
  const lineage = [run.rerun_of ? `rerun of ${esc(run.rerun_of)}` : '', run.resumed_from ? `resumed from <a href="/ui/runs/${seg(run.resumed_from)}">${esc(run.resumed_from)}</a>` : '']
    .filter(Boolean)
    .join(' · ');
  return page(
    `Run ${run.id}`,
    `<h1>${esc(run.flow_name)} ${badge(run.status)}</h1>
<dl class="facts"><dt>Run</dt><dd><code>${esc(run.id)}</code>${lineage ? ` · ${lineage}` : ''}</dd><dt>Flow</dt><dd>${flowLink(run.flow_id, run.flow_id)} v${esc(run.flow_version ?? '')}</dd>
<dt>Batch</dt><dd>${batchLink(run.batch_id)}</dd><dt>Source</dt><dd>${esc(run.source)}</dd><dt>Started</dt><dd>${time(run.started_at)}</dd><dt>Duration</dt><dd>${esc(duration(run.duration_ms))}</dd>
<dt>Temporal</dt><dd><a href="${esc(temporalUi)}">workflow in the Temporal UI</a></dd></dl>
${run.error ? `<p class="err">${esc(run.error.step)}: ${esc(run.error.message)}</p>` : ''}
<p>${open ? form(`/ui/runs/${id}/cancel`, csrf, '<button type="submit" id="cancel">Cancel</button>') : ''}
${form(`/ui/runs/${id}/rerun`, csrf, '<button type="submit" id="rerun">Rerun</button>')} ${approvals}</p>${resume}
<h2>Steps</h2><p class="muted">${esc(run.summary.text)}</p><table class="steps"><thead><tr><th scope="col">Step</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Timeline</th><th scope="col">Error</th></tr></thead><tbody>${timeline}</tbody></table>
${shots ? `<h2>Screenshots</h2><div class="shots">${shots}</div>` : ''}
<h2>Artifacts</h2><ul>${artifacts || '<li>none yet</li>'}</ul>
<h2>Log</h2><pre tabindex="0" aria-label="Run log">${logs.map((l) => `${esc(l.ts.toISOString())} ${esc(l.level.padEnd(5))} ${esc(l.message)}`).join('\n')}</pre>`,
    { csrf, live: open ? `/ui/runs/${id}/events` : undefined },
  );
}
