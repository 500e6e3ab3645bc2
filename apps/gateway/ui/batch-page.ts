/**
 * `/ui/batches/{batchId}`: a batch's runs and progress, with cancel (while it is open) and rerun
 * failed (once it has ended with runs that did not pass). While open it follows the batch's
 * event stream (`/ui/batches/{batchId}/events`) and updates in place.
 */
import { NotFoundError } from '../../../domain/errors';
import { isTerminalRun } from '../../../domain/statuses';
import type { AuthContext, RunDeps } from '../deps';
import { presentedStatus } from '../runs/views';
import { batchStatus } from '../surfaces/ci-batches/use-cases';
import { badge, esc, form, page, seg, time } from './html';
import { listRuns } from './queries';
import { runRows, runTableHead } from './runs-page';

/** A batch page shows at most this many of its runs (the run list, filtered by batch, pages through all). */
const SHOWN = 500;
const NOT_PASSED = new Set(['failed', 'cancelled', 'timed_out']);

export async function batchPage(deps: RunDeps, auth: AuthContext, csrf: string, batchId: string): Promise<string> {
  const status = await batchStatus(deps, auth.accountId, batchId).catch((err) => {
    throw err instanceof NotFoundError ? new NotFoundError('batch', ['batchId']) : err;
  });
  const { runs } = await listRuns(deps.dataSource, { accountId: auth.accountId, batchId }, null, SHOWN);
  runs.sort((a, b) => a.position - b.position);
  // The progress, the tally and the table read the same reconciled statuses.
  const live = await deps.reconciler.reconcileMany(runs);
  const statuses = live.map(presentedStatus);
  const total = Math.max(status.runs.length, statuses.length);
  const ended = statuses.filter(isTerminalRun).length;
  const counts = new Map<string, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  const tally = [...counts].map(([s, n]) => `${badge(s, `${n} ${s}`)}`).join(' ');
  const id = seg(status.batch_id);
  const failed = statuses.filter((s) => NOT_PASSED.has(s)).length;
  const actions = [
    status.is_complete ? '' : form(`/ui/batches/${id}/cancel`, csrf, '<button type="submit" id="cancel-batch">Cancel the batch</button>'),
    status.is_complete && failed > 0 ? form(`/ui/batches/${id}/rerun`, csrf, `<button type="submit" id="rerun-failed">Rerun the ${failed} failed</button>`) : '',
  ].join(' ');
  return page(
    `Batch ${status.batch_id}`,
    `<h1>Batch ${badge(status.status)}</h1>
<dl class="facts"><dt>Batch</dt><dd><code>${esc(status.batch_id)}</code></dd><dt>Source</dt><dd>${esc(status.source ?? '')}${status.schedule_id ? ` (schedule <a href="/ui/schedules#schedule-${esc(status.schedule_id)}">${esc(status.schedule_id)}</a>)` : ''}</dd>
<dt>Created</dt><dd>${time(status.created_at)}</dd><dt>Progress</dt><dd><progress id="progress" max="${total}" value="${ended}" aria-label="Runs ended">${ended}/${total}</progress> <span id="progress-text">${ended} of ${total} runs ended</span> ${tally}</dd></dl>
<p>${actions} <a href="/ui/?batch=${id}">These runs in the run list</a></p>
<h2>Runs</h2><table class="runs">${runTableHead({ batch: false })}<tbody>${(await runRows(deps, runs, { batch: false, live })) || '<tr><td colspan="6">No runs.</td></tr>'}</tbody></table>`,
    { csrf, live: status.is_complete ? undefined : `/ui/batches/${id}/events` },
  );
}
