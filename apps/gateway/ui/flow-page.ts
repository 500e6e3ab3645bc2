/**
 * `/ui/flows/{flowId}`: the flow's definition, its runs over time as a chart (duration and
 * outcome per run, p50 / p95, success rate, flaky runs marked), its recent runs, and a form that
 * starts a run with an app, variables (`env`, this run only) and trigger data.
 */
import type { Request } from 'express';
import { NotFoundError } from '../../../domain/errors';
import type { AuthContext, RunDeps } from '../deps';
import { getFlow } from '../definitions/flows/use-cases';
import { HttpError } from '../http/errors';
import { triggerBatch } from '../runs/trigger';
import { flowRunStats } from '../surfaces/flows-runs/queries';
import { durationChart } from './chart';
import { esc, form, page, parseEnv, seg } from './html';
import { appNames, listRuns } from './queries';
import { runRows, runTableHead } from './runs-page';

/** How many recent runs the chart and the table show. */
const RECENT = 60;

const pctText = (n: number, of: number) => (of > 0 ? `${((n / of) * 100).toFixed(1)}%` : '—');

export async function flowPage(deps: RunDeps, auth: AuthContext, csrf: string, flowId: string): Promise<string> {
  const flow = await getFlow(deps.dataSource, auth.accountId, flowId).catch((err) => {
    throw err instanceof NotFoundError ? new NotFoundError('flow', ['flowId']) : err;
  });
  const [{ runs }, stats, apps] = await Promise.all([
    listRuns(deps.dataSource, { accountId: auth.accountId, flowId }, null, RECENT),
    flowRunStats(deps.dataSource, auth.accountId, flowId),
    appNames(deps.dataSource, auth.accountId),
  ]);
  const chronological = [...runs].reverse();
  const finished = stats.succeeded + stats.failed;
  const shownDone = runs.filter((r) => r.status === 'succeeded' || r.status === 'failed' || r.status === 'timed_out');
  const shownPassed = shownDone.filter((r) => r.status === 'succeeded').length;
  const flaky = runs.filter((r) => r.flaky).length;
  const chart = durationChart(
    chronological.map((r) => ({ id: r.publicId, status: r.status, durationMs: r.durationMs, flaky: r.flaky, at: r.startedAt ?? r.createdAt })),
    { p50: stats.p50Duration, p95: stats.p95Duration },
    `Duration and outcome of the last ${runs.length} runs of ${flow.name}`,
  );
  const id = seg(flow.id);
  const appOptions = [`<option value="">no app</option>`, ...apps.map((a) => `<option value="${esc(a.id)}">${esc(a.name)} (${esc(a.id)})</option>`)].join('');
  const runForm = form(
    `/ui/flows/${id}/run`,
    csrf,
    `<label>App <select name="app_id" id="run-app">${appOptions}</select></label>
<label for="run-env">Variables (KEY=value, one a line; read as \${env:KEY}; this run only)</label><textarea id="run-env" name="env" rows="3" cols="60"></textarea>
<label for="run-data">Trigger data (JSON, read as trigger.body; optional)</label><textarea id="run-data" name="data" rows="3" cols="60"></textarea>
<div><button type="submit" id="run-flow">Run ${esc(flow.name)}</button></div>`,
    'stack',
  );
  const { createdAt: _c, updatedAt: _u, ...definition } = flow;
  return page(
    `Flow ${flow.name}`,
    `<h1>${esc(flow.name)} <small class="muted">${esc(flow.id)} · v${esc(flow.version)}</small></h1>
${flow.description ? `<p>${esc(flow.description)}</p>` : ''}
<dl class="facts" id="flow-stats"><dt>Runs</dt><dd>${esc(stats.totalRuns)}</dd><dt>Success rate</dt><dd id="success-rate">${pctText(stats.succeeded, finished)} of ${finished} finished (last ${shownDone.length}: ${pctText(shownPassed, shownDone.length)})</dd>
<dt>p50 duration</dt><dd id="p50">${stats.p50Duration === null ? '—' : `${Math.round(stats.p50Duration)} ms`}</dd><dt>p95 duration</dt><dd id="p95">${stats.p95Duration === null ? '—' : `${Math.round(stats.p95Duration)} ms`}</dd>
<dt>Flaky</dt><dd id="flaky-count">${flaky} of the last ${runs.length}</dd></dl>
<h2>Runs over time</h2>${runs.length ? chart : '<p>No runs yet.</p>'}
<h2>Run it</h2>${runForm}
<h2>Recent runs</h2><p><a href="/ui/?flow=${id}">All runs of this flow</a> · <a href="/ui/?flow=${id}&amp;status=failed">failed runs</a></p>
<table class="runs">${runTableHead()}<tbody>${(await runRows(deps, runs.slice(0, 20))) || '<tr><td colspan="7">No runs yet.</td></tr>'}</tbody></table>
<h2>Definition</h2><pre tabindex="0" aria-label="Flow definition">${esc(JSON.stringify(definition, null, 2))}</pre>`,
    { csrf },
  );
}

/** `POST /ui/flows/{flowId}/run`: starts one run of the flow from the form; answers the new run's id. */
export async function runFlowFromForm(deps: RunDeps, auth: AuthContext, flowId: string, req: Request): Promise<string> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const env = parseEnv(body.env);
  let data: unknown;
  const rawData = typeof body.data === 'string' ? body.data.trim() : '';
  if (rawData) {
    try {
      data = JSON.parse(rawData);
    } catch {
      throw new HttpError(400, 'data: not JSON');
    }
  }
  const appId = typeof body.app_id === 'string' && body.app_id ? body.app_id : undefined;
  const batch = await triggerBatch(deps, auth, { flowIds: [flowId], appId, env, saveEnv: false, data, source: 'dashboard' });
  return batch.runs[0]!.id;
}
