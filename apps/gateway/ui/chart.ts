/**
 * A flow's runs over time as a server-rendered SVG (no script, no library): one bar per run,
 * oldest on the left, its height the run's duration and its colour the outcome, a flaky run
 * marked with a dot above its bar, and the p50 and p95 durations as dashed lines. Each bar links
 * to its run and names it (run, status, duration) for keyboard and screen-reader users.
 */
import { duration, esc, seg } from './html';

export interface ChartRun {
  id: string;
  status: string;
  durationMs: number | null;
  flaky: boolean;
  at: Date;
}

const W = 760;
const H = 240;
const LEFT = 56;
const RIGHT = 70;
const TOP = 16;
const BOTTOM = 28;
const COLOURS: Record<string, string> = {
  succeeded: '#2e7d32',
  failed: '#c62828',
  timed_out: '#8e24aa',
  cancelled: '#757575',
  skipped: '#757575',
  running: '#1565c0',
  waiting: '#1565c0',
  queued: '#90a4ae',
};

/** A "nice" upper bound of the axis: 1, 2 or 5 times a power of ten, at least `max`. */
function niceMax(max: number): number {
  if (max <= 0) return 1000;
  const p = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max)!;
}

export function durationChart(runs: readonly ChartRun[], lines: { p50: number | null; p95: number | null }, title: string): string {
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const top = niceMax(Math.max(0, ...runs.map((r) => r.durationMs ?? 0), lines.p95 ?? 0, lines.p50 ?? 0));
  const y = (ms: number) => TOP + plotH - (ms / top) * plotH;
  const slot = runs.length ? plotW / runs.length : plotW;
  const barW = Math.max(2, Math.min(28, slot * 0.7));
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const ty = y(top * f).toFixed(1);
      return `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${ty}" y2="${ty}" stroke="#e4e7ee"/><text x="${LEFT - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle" font-size="11" fill="#4a5263">${esc(duration(top * f))}</text>`;
    })
    .join('');
  const bars = runs
    .map((r, i) => {
      const x = LEFT + i * slot + (slot - barW) / 2;
      const ms = r.durationMs ?? 0;
      const h = Math.max(2, (ms / top) * plotH);
      const label = `Run ${r.id}: ${r.status}${r.flaky ? ', flaky' : ''}${r.durationMs !== null ? `, ${duration(r.durationMs)}` : ''}`;
      const flaky = r.flaky ? `<circle class="flaky-mark" cx="${(x + barW / 2).toFixed(1)}" cy="${(TOP + plotH - h - 7).toFixed(1)}" r="4" fill="#e69500" stroke="#1d2330" stroke-width="1"/>` : '';
      return `<a href="/ui/runs/${seg(r.id)}" aria-label="${esc(label)}"><title>${esc(label)}</title><rect class="run ${esc(r.status)}" x="${x.toFixed(1)}" y="${(TOP + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${COLOURS[r.status] ?? '#90a4ae'}"/>${flaky}</a>`;
    })
    .join('');
  const line = (ms: number | null, name: string, colour: string) =>
    ms === null
      ? ''
      : `<line class="${name}" x1="${LEFT}" x2="${W - RIGHT}" y1="${y(ms).toFixed(1)}" y2="${y(ms).toFixed(1)}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="6 4"/><text x="${W - RIGHT + 4}" y="${y(ms).toFixed(1)}" dominant-baseline="middle" font-size="11" fill="${colour}">${name} ${esc(duration(ms))}</text>`;
  const first = runs[0]?.at.toISOString().slice(0, 16).replace('T', ' ') ?? '';
  const last = runs[runs.length - 1]?.at.toISOString().slice(0, 16).replace('T', ' ') ?? '';
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="group" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">
<title id="chart-title">${esc(title)}</title>${ticks}${bars}${line(lines.p50, 'p50', '#0b4fb3')}${line(lines.p95, 'p95', '#a30000')}
<text x="${LEFT}" y="${H - 8}" font-size="11" fill="#4a5263">${esc(first)}</text><text x="${W - RIGHT}" y="${H - 8}" font-size="11" text-anchor="end" fill="#4a5263">${esc(last)}</text></svg>
<p class="muted">Bars: <span class="s succeeded">succeeded</span> <span class="s failed">failed</span> <span class="s timed_out">timed out</span> <span class="s cancelled">cancelled</span> <span class="s running">running</span> · <span class="s flaky">● flaky</span> (passed on a rerun of a failed run) · dashed lines: p50 and p95 duration.</p>`;
}
