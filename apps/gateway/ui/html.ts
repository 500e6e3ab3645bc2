/**
 * The dashboard's HTML pieces: escaping, the page frame, forms with the session's CSRF token,
 * status badges. Everything a page shows passes `esc`; the only script is the same-origin
 * `/ui/live.js` (ui/live.ts), loaded by pages that follow an open run or batch.
 */
import type { Request } from 'express';
import { HttpError } from '../http/errors';

export const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A path segment, encoded. */
export const seg = (v: string): string => encodeURIComponent(v);

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330}header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
header a{color:#fff}header button{color:#fff;background:transparent;border:1px solid #fff;border-radius:4px;padding:2px 10px}header nav{display:flex;gap:16px;flex:1}main{padding:20px}table{border-collapse:collapse;width:100%}td,th{padding:6px 8px;border-bottom:1px solid #e4e7ee;text-align:left;vertical-align:top}
a{color:#0b4fb3}a:focus,button:focus,input:focus,select:focus,textarea:focus,summary:focus{outline:3px solid #f5a623;outline-offset:1px}
.s{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#e4e7ee;color:#1d2330}.succeeded{background:#c9efd4}.failed,.timed_out{background:#f8d0d0}.running,.waiting,.queued{background:#d3e3fa}.cancelled,.skipped{background:#e8e8e8}
.tl{position:relative;border-left:1px solid #ccd;margin:10px 0}.row{position:relative;height:26px}.bar{position:absolute;height:20px;top:3px;border-radius:4px;font-size:12px;padding:0 6px;white-space:nowrap;overflow:hidden;box-sizing:border-box;color:#1d2330}
.shots{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;border:1px solid #ccd;padding:4px}figure img{display:block;max-width:100%;height:auto}.review{display:grid;grid-template-columns:repeat(3,1fr);gap:12px}
pre{background:#f6f7f9;padding:10px;overflow:auto;max-height:400px}form.inline{display:inline}button{cursor:pointer}.filters{display:flex;gap:12px;flex-wrap:wrap;align-items:end;margin:10px 0}
.filters label,.stack label{display:flex;flex-direction:column;font-size:12px}.stack{display:flex;flex-direction:column;gap:8px;max-width:640px}.err{color:#a30000}.muted{color:#4a5263}.flaky{background:#fde7b0}
.chart{max-width:100%;height:auto;border:1px solid #e4e7ee}dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px}dl.facts dt{font-weight:600}dl.facts dd{margin:0}`;

/** A form posting to `action` with the session's CSRF token. */
export const form = (action: string, csrf: string, inner: string, cls = 'inline'): string =>
  `<form class="${cls}" method="post" action="${esc(action)}"><input type="hidden" name="csrf" value="${esc(csrf)}">${inner}</form>`;

export interface PageOptions {
  csrf?: string;
  /** The `/ui/…/events` stream this page follows: its live region is re-rendered on each event. */
  live?: string;
}

/**
 * A page. `csrf` (a signed-in page) adds the navigation and the sign-out button; `live` loads
 * the live-update script and marks `<main>` as the region it replaces.
 */
export function page(title: string, body: string, opts: PageOptions = {}): string {
  const nav = opts.csrf
    ? `<nav aria-label="Dashboard"><a href="/ui/">Runs</a><a href="/ui/schedules">Schedules</a></nav>${form('/ui/logout', opts.csrf, '<button type="submit">Sign out</button>')}`
    : '';
  const script = opts.live ? '<script src="/ui/live.js" defer></script>' : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)} · Flow Runs</title><style>${STYLE}</style>${script}</head>
<body><header><strong>Flow Runs</strong>${nav}</header><main id="live"${opts.live ? ` data-events="${esc(opts.live)}"` : ''}>${body}</main></body></html>`;
}

export const badge = (status: string, label = status): string => `<span class="s ${esc(status)}">${esc(label)}</span>`;

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export const time = (iso: string | Date | null | undefined): string => {
  if (!iso) return '';
  const s = typeof iso === 'string' ? iso : iso.toISOString();
  return `<time datetime="${esc(s)}">${esc(s.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</time>`;
};

export const runLink = (id: string): string => `<a href="/ui/runs/${seg(id)}">${esc(id)}</a>`;
export const batchLink = (id: string | null | undefined): string => (id ? `<a href="/ui/batches/${seg(id)}">${esc(id)}</a>` : '—');
export const flowLink = (id: string, label = id): string => `<a href="/ui/flows/${seg(id)}">${esc(label)}</a>`;

/** The value of cookie `name` in the request. */
export function cookie(req: Request, name: string): string | undefined {
  const raw = req.get('cookie') ?? '';
  for (const part of raw.split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k !== name) continue;
    try {
      return decodeURIComponent(rest.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A query-string parameter as one trimmed string, or undefined. */
export const queryParam = (req: Request, name: string): string | undefined => {
  const v = req.query[name];
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
};

/** `KEY=value` lines of a textarea as variables; a line without `=` is an error naming it. */
export function parseEnv(text: unknown): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [i, raw] of String(text ?? '').split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const at = line.indexOf('=');
    if (at <= 0) throw new HttpError(400, `env: line ${i + 1} is not KEY=value`);
    env[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  return env;
}
