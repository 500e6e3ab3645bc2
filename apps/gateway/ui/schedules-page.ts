/**
 * `/ui/schedules`: the account's schedules (Temporal Schedules) with their spec, next firings and
 * recent firings (each linking to the batch it started), and buttons to pause, unpause and
 * trigger one now.
 */
import type { AuthContext, RunDeps } from '../deps';
import { listSchedules, type ScheduleView } from '../schedules/use-cases';
import { badge, batchLink, esc, flowLink, form, page, seg, time } from './html';

const SHOWN = 100;

function specText(s: ScheduleView): string {
  const spec = s.spec as { cron?: string; intervalSeconds?: number };
  return spec.cron ? `cron ${spec.cron} (${s.timezone})` : `every ${spec.intervalSeconds} s`;
}

function scheduleRow(s: ScheduleView, csrf: string, canRun: boolean): string {
  const id = seg(s.id);
  const trigger = (s.trigger ?? {}) as { flow_ids?: string[]; suite_ids?: string[] };
  const what = [...(trigger.flow_ids ?? []).map((f) => flowLink(f)), ...(trigger.suite_ids ?? []).map((x) => `suite ${esc(x)}`)].join(', ');
  const next = s.nextRuns.slice(0, 3).map((t) => `<li>${time(t)}</li>`).join('');
  const recent = [...s.recentRuns]
    .reverse()
    .slice(0, 5)
    .map((r) => `<li>${time(r.startedAt)} → batch ${batchLink(r.batchId)}</li>`)
    .join('');
  const buttons = canRun
    ? `${form(`/ui/schedules/${id}/${s.paused ? 'unpause' : 'pause'}`, csrf, `<button type="submit" class="${s.paused ? 'unpause' : 'pause'}">${s.paused ? 'Unpause' : 'Pause'} ${esc(s.id)}</button>`)} ${form(`/ui/schedules/${id}/trigger`, csrf, `<button type="submit" class="trigger">Trigger ${esc(s.id)} now</button>`)}`
    : '';
  return `<tr id="schedule-${esc(s.id)}"><th scope="row">${esc(s.id)}${s.note ? `<div class="muted">${esc(s.note)}</div>` : ''}</th><td>${esc(specText(s))}</td><td>${what}</td><td>${s.paused ? badge('cancelled', 'paused') : badge('running', 'active')}</td>
<td><ul>${next || '<li>none</li>'}</ul></td><td><ul>${recent || '<li>none yet</li>'}</ul></td><td>${buttons}</td></tr>`;
}

export async function schedulesPage(deps: RunDeps, auth: AuthContext, csrf: string): Promise<string> {
  const { data, hasMore } = await listSchedules(deps, auth, { limit: SHOWN });
  const canRun = auth.scopes.includes('run');
  const rows = data.map((s) => scheduleRow(s, csrf, canRun)).join('');
  return page(
    'Schedules',
    `<h1>Schedules</h1>
<table class="schedules"><thead><tr><th scope="col">Schedule</th><th scope="col">When</th><th scope="col">Runs</th><th scope="col">State</th><th scope="col">Next firings</th><th scope="col">Recent firings</th><th scope="col">Actions</th></tr></thead>
<tbody>${rows || '<tr><td colspan="7">No schedules. Create one with POST /api/v1/schedules.</td></tr>'}</tbody></table>${hasMore ? `<p>The first ${SHOWN} schedules are shown.</p>` : ''}`,
    { csrf },
  );
}
