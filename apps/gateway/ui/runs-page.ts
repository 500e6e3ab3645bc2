/**
 * `/ui/`: the account's runs, newest first, filtered by flow, batch, status and source from the
 * query string (`/ui/?flow=ID&status=failed`), paged 25 at a time.
 */
import type { Request } from 'express';
import { RUN_SOURCES, RUN_STATUSES, type RunStatus } from '../../../domain/statuses';
import type { AuthContext, RunDeps } from '../deps';
import type { LiveRun } from '../runs/reconcile';
import { presentedStatus } from '../runs/views';
import { badge, batchLink, duration, esc, flowLink, page, queryParam, runLink, time } from './html';
import { decodeBefore, encodeBefore, flowNames, listRuns, type ListedRun, type RunListFilter } from './queries';

const PAGE_SIZE = 25;

const option = (value: string, label: string, selected: boolean) => `<option value="${esc(value)}"${selected ? ' selected' : ''}>${esc(label)}</option>`;

/** The rows of a run table: id, flow, status (flaky marked), source, batch, start, duration. */
export async function runRows(deps: RunDeps, runs: readonly ListedRun[], opts: { batch?: boolean; live?: LiveRun[] } = {}): Promise<string> {
  const live = opts.live ?? (await deps.reconciler.reconcileMany(runs));
  return live
    .map((l) => {
      const r = l.run as ListedRun;
      const status = presentedStatus(l);
      return `<tr><td>${runLink(r.publicId)}</td><td>${flowLink(r.flowId, r.flowName || r.flowId)}</td><td>${badge(status)}${r.flaky ? ` ${badge('flaky')}` : ''}</td><td>${esc(r.source)}</td>${opts.batch === false ? '' : `<td>${batchLink(r.batchId)}</td>`}<td>${time(r.startedAt ?? r.createdAt)}</td><td>${esc(duration(r.durationMs))}</td></tr>`;
    })
    .join('');
}

export const runTableHead = (opts: { batch?: boolean } = {}): string =>
  `<thead><tr><th scope="col">Run</th><th scope="col">Flow</th><th scope="col">Status</th><th scope="col">Source</th>${opts.batch === false ? '' : '<th scope="col">Batch</th>'}<th scope="col">Started</th><th scope="col">Duration</th></tr></thead>`;

export async function runsPage(deps: RunDeps, auth: AuthContext, csrf: string, req: Request): Promise<string> {
  const statusParam = queryParam(req, 'status');
  const sourceParam = queryParam(req, 'source');
  const filter: RunListFilter = {
    accountId: auth.accountId,
    flowId: queryParam(req, 'flow'),
    batchId: queryParam(req, 'batch'),
    status: RUN_STATUSES.includes(statusParam as RunStatus) ? (statusParam as RunStatus) : undefined,
    source: (RUN_SOURCES as readonly string[]).includes(sourceParam ?? '') ? sourceParam : undefined,
  };
  const [list, flows] = await Promise.all([
    listRuns(deps.dataSource, filter, decodeBefore(queryParam(req, 'cursor')), PAGE_SIZE),
    flowNames(deps.dataSource, auth.accountId),
  ]);
  const kept = { ...(filter.flowId ? { flow: filter.flowId } : {}), ...(filter.batchId ? { batch: filter.batchId } : {}), ...(filter.status ? { status: filter.status } : {}), ...(filter.source ? { source: filter.source } : {}) };
  const older = list.more ? `<a href="/ui/?${esc(new URLSearchParams({ ...kept, cursor: encodeBefore(list.runs[list.runs.length - 1]!) }).toString())}">older →</a>` : '';
  const newest = queryParam(req, 'cursor') ? `<a href="/ui/?${esc(new URLSearchParams(kept).toString())}">← newest</a>` : '';
  const flowOptions = [option('', 'any flow', !filter.flowId), ...flows.map((f) => option(f.id, `${f.name} (${f.id})`, f.id === filter.flowId))];
  if (filter.flowId && !flows.some((f) => f.id === filter.flowId)) flowOptions.push(option(filter.flowId, filter.flowId, true));
  const filters = `<form class="filters" method="get" action="/ui/" role="search" aria-label="Filter runs">
<label>Flow <select name="flow">${flowOptions.join('')}</select></label>
<label>Batch <input name="batch" value="${esc(filter.batchId ?? '')}" size="38" placeholder="batch id"></label>
<label>Status <select name="status">${[option('', 'any status', !filter.status), ...RUN_STATUSES.map((s) => option(s, s, s === filter.status))].join('')}</select></label>
<label>Source <select name="source">${[option('', 'any source', !filter.source), ...RUN_SOURCES.map((s) => option(s, s, s === filter.source))].join('')}</select></label>
<button type="submit">Filter</button> <a href="/ui/">Clear</a></form>`;
  const rows = await runRows(deps, list.runs);
  const shown = Object.entries(kept).map(([k, v]) => `${k} ${v}`).join(', ');
  return page(
    'Runs',
    `<h1>Runs${shown ? ` <small class="muted">(${esc(shown)})</small>` : ''}</h1>${filters}
<table class="runs">${runTableHead()}<tbody>${rows || `<tr><td colspan="7">${shown ? 'No runs match these filters.' : 'No runs yet.'}</td></tr>`}</tbody></table>
<p>${newest} ${older}</p>`,
    { csrf },
  );
}
