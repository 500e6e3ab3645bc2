/**
 * The dashboard at `/ui/`: server-rendered pages over the same use cases as the API, behind the
 * same keys. Signing in with an API key starts a session (ui/sessions.ts): the cookie holds an
 * opaque session id, never the key; every form carries the session's CSRF token; every request
 * counts against the key's and the account's rate limits like an API call, and sign-in attempts
 * against the client address. Runs with status filters and paging; a run's page with its step timeline (parallel
 * branches side by side), log and artifacts, refreshed while it runs; cancel, rerun and approve
 * buttons; a link to its workflow in the Temporal UI. No script, no bundle.
 */
import express, { type Request, type Response, type Router } from 'express';
import { DomainError } from '../../../domain/errors';
import { gatewayLog } from '../../../platform/log';
import { artifactFile } from '../visual/visual';
import { RUN_STATUSES, isTerminalRun, type RunStatus } from '../../../domain/statuses';
import type { AuthContext, RunDeps, Scope } from '../deps';
import { authenticate, RateLimiter } from '../http/auth-middleware';
import { HttpError } from '../http/errors';
import { sendRunFile } from '../http/files';
import { cancelRun } from '../runs/cancel';
import { logsOfRun, findRun } from '../runs/queries';
import { rerunRun } from '../runs/rerun';
import { listActionRuns } from '../surfaces/action-runs/use-cases';
import { decideApproval, logLines, networkLines, performance, runDetail } from '../surfaces/ci-batches/use-cases';
import { sendJsonl } from '../http/request';
import { csrfToken, DashboardSessions, newToken, sameToken } from './sessions';

/** The session id. */
const SESSION_COOKIE = 'flowruns_session';
/** The sign-in form's own CSRF token (double submit), so no other site can sign a browser in. */
const SIGN_IN_COOKIE = 'flowruns_signin';
const SIGN_IN_TOKEN_MS = 3_600_000;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Where a sign-in may lead: a dashboard path, never another host (`//evil`, `/\evil`). */
const NEXT_PATH = /^\/ui\/(?![/\\])[^\s\\]*$/;

const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330}header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
header a{color:#fff;text-decoration:none}main{padding:20px}table{border-collapse:collapse;width:100%}td,th{padding:6px 8px;border-bottom:1px solid #e4e7ee;text-align:left}
.s{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#e4e7ee}.succeeded{background:#d3f3dc}.failed,.timed_out{background:#fbd9d9}.running,.waiting{background:#dce8fb}.cancelled,.skipped{background:#eee}
.tl{position:relative;border-left:1px solid #ccd;margin:10px 0}.row{position:relative;height:26px}.bar{position:absolute;height:20px;top:3px;border-radius:4px;font-size:12px;padding:0 6px;white-space:nowrap;overflow:hidden;box-sizing:border-box}
.shots{display:flex;flex-wrap:wrap;gap:12px}.shots figure{margin:0;border:1px solid #ccd;padding:4px}.shots img{display:block}
pre{background:#f6f7f9;padding:10px;overflow:auto;max-height:400px}form.inline{display:inline}button{cursor:pointer}nav a{margin-right:8px}`;

/** A form posting to `action` with the session's CSRF token. */
const form = (action: string, csrf: string, inner: string, cls = 'inline'): string =>
  `<form class="${cls}" method="post" action="${esc(action)}"><input type="hidden" name="csrf" value="${esc(csrf)}">${inner}</form>`;

/** A page; `csrf` (a signed-in page) adds the sign-out button. */
function page(title: string, body: string, opts: { refresh?: boolean; csrf?: string } = {}): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)} · Flow Runs</title>${opts.refresh ? '<meta http-equiv="refresh" content="2">' : ''}<style>${STYLE}</style></head>
<body><header><strong>Flow Runs</strong><a href="/ui/">Runs</a>${opts.csrf ? form('/ui/logout', opts.csrf, '<button>Sign out</button>') : ''}</header><main>${body}</main></body></html>`;
}

const badge = (status: string) => `<span class="s ${esc(status)}">${esc(status)}</span>`;

function cookie(req: Request, name: string): string | undefined {
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

const signInPage = (token: string, next: string, error?: string) =>
  page(
    'Sign in',
    `<h1>Sign in</h1>${error ? `<p style="color:#b00">${esc(error)}</p>` : ''}${form('/ui/login', token, `<input type="hidden" name="next" value="${esc(next)}"><label>API key <input name="apiKey" type="password" size="50" autofocus></label> <button>Sign in</button>`, 'signin')}`,
  );

function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

async function runsPage(deps: RunDeps, auth: AuthContext, csrf: string, req: Request): Promise<string> {
  const phase = RUN_STATUSES.includes(req.query.status as RunStatus) ? (req.query.status as RunStatus) : undefined;
  const cursor = typeof req.query.cursor === 'string' && req.query.cursor ? req.query.cursor : undefined;
  const list = await listActionRuns(deps, auth.accountId, { size: 25, phase, cursor });
  const link = (c: string | null, label: string) => (c ? `<a href="/ui/?${new URLSearchParams({ ...(phase ? { status: phase } : {}), cursor: c })}">${label}</a>` : '');
  const filters = ['all', ...RUN_STATUSES].map((s) => `<a href="/ui/${s === 'all' ? '' : `?status=${s}`}">${s === (phase ?? 'all') ? `<b>${s}</b>` : s}</a>`).join(' ');
  const rows = list.items
    .map(
      (r) =>
        `<tr><td><a href="/ui/runs/${encodeURIComponent(r.id)}">${esc(r.id)}</a></td><td>${esc(r.flowId)}</td><td>${badge(r.phase)}</td><td>${esc(r.startTime ?? '')}</td><td>${esc(r.actions.length)} steps</td></tr>`,
    )
    .join('');
  return page(
    'Runs',
    `<h1>Runs <small>(${list.total})</small></h1><nav>${filters}</nav>
<table><thead><tr><th>Run</th><th>Flow</th><th>Status</th><th>Started</th><th></th></tr></thead><tbody>${rows || '<tr><td colspan="5">No runs yet.</td></tr>'}</tbody></table>
<p>${link(list.previous_page, '← newer')} ${link(list.next_page, 'older →')}</p>`,
    { csrf },
  );
}

async function runPage(deps: RunDeps, auth: AuthContext, csrf: string, runId: string, baseUrl: string): Promise<string> {
  const run = await runDetail(deps, auth.accountId, runId, baseUrl);
  const row = await findRun(deps.dataSource, auth.accountId, runId);
  const logs = row ? await logsOfRun(deps.dataSource, row.id, 500) : [];
  const starts = run.actions.map((a) => (a.started_at ? Date.parse(a.started_at) : NaN)).filter(Number.isFinite);
  const t0 = starts.length ? Math.min(...starts) : Date.now();
  const t1 = Math.max(t0 + 1, ...run.actions.map((a) => (a.finished_at ? Date.parse(a.finished_at) : a.started_at ? Date.now() : t0)));
  const pct = (t: number) => (((t - t0) / (t1 - t0)) * 100).toFixed(2);
  const timeline = run.actions
    .map((a) => {
      const s = a.started_at ? Date.parse(a.started_at) : null;
      const e = a.finished_at ? Date.parse(a.finished_at) : s !== null ? Date.now() : null;
      const bar = s === null ? '' : `<div class="bar ${esc(a.status)}" style="left:${pct(s)}%;width:max(${(Number(pct(e!)) - Number(pct(s))).toFixed(2)}%,4px)">${esc(duration(a.duration_ms))}</div>`;
      return `<tr><td>${esc(a.name)}</td><td>${esc(a.type)}</td><td>${badge(a.status)}</td><td style="width:50%"><div class="row">${bar}</div></td><td>${esc(a.error ?? '')}</td></tr>`;
    })
    .join('');
  const open = !isTerminalRun(run.status);
  const approvals = run.actions
    .filter((a) => a.status === 'waiting')
    .map(
      (a) =>
        `${form(`/ui/runs/${encodeURIComponent(run.id)}/steps/${encodeURIComponent(a.step_id)}/approve`, csrf, `<button>Approve ${esc(a.name)}</button>`)} ${form(`/ui/runs/${encodeURIComponent(run.id)}/steps/${encodeURIComponent(a.step_id)}/reject`, csrf, '<button>Reject</button>')}`,
    )
    .join(' ');
  const temporalUi = `${deps.config.temporalUiUrl}/namespaces/${encodeURIComponent(deps.config.namespace)}/workflows/${encodeURIComponent(row?.workflowId ?? `run-${runId}`)}`;
  const files = { performance_metrics_url: 'performance.json', log_url: 'log.jsonl', network_requests_url: 'network.jsonl' } as const;
  const artifacts = (Object.keys(files) as (keyof typeof files)[])
    .filter((name) => run.artifacts[name])
    .map((name) => `<li><a href="/ui/runs/${encodeURIComponent(run.id)}/artifacts/${files[name]}">${files[name]}</a></li>`)
    .join('');
  // Screenshots of browser steps, through the cookie-authorised route below.
  const shots = [...new Map(run.actions.filter((a) => a.screenshot_url).map((a) => [a.screenshot_url!, a])).values()]
    .map((a) => {
      const file = decodeURIComponent(a.screenshot_url!.split('/').pop()!);
      const src = `/ui/runs/${encodeURIComponent(run.id)}/screenshots/${encodeURIComponent(a.step_id)}/${encodeURIComponent(file)}`;
      return `<figure><a href="${esc(src)}"><img src="${esc(src)}" alt="${esc(file)}" width="320"></a><figcaption>${esc(a.step_id)} · ${esc(file)} ${badge(a.status)}</figcaption></figure>`;
    })
    .join('');
  return page(
    `Run ${run.id}`,
    `<h1>${esc(run.flow_name)} ${badge(run.status)}</h1>
<p>Run <code>${esc(run.id)}</code> · flow <code>${esc(run.flow_id)}</code> v${esc(run.flow_version ?? '')} · batch <code>${esc(run.batch_id ?? '—')}</code> · source ${esc(run.source)} · ${esc(duration(run.duration_ms))}
 · <a href="${esc(temporalUi)}">workflow in the Temporal UI</a></p>
${run.error ? `<p style="color:#b00">${esc(run.error.step)}: ${esc(run.error.message)}</p>` : ''}
<p>${open ? form(`/ui/runs/${encodeURIComponent(run.id)}/cancel`, csrf, '<button id="cancel">Cancel</button>') : ''}
${form(`/ui/runs/${encodeURIComponent(run.id)}/rerun`, csrf, '<button id="rerun">Rerun</button>')} ${approvals}</p>
<h2>Steps</h2><table class="steps"><thead><tr><th>Step</th><th>Type</th><th>Status</th><th>Timeline</th><th>Error</th></tr></thead><tbody>${timeline}</tbody></table>
${shots ? `<h2>Screenshots</h2><div class="shots">${shots}</div>` : ''}
<h2>Artifacts</h2><ul>${artifacts || '<li>none yet</li>'}</ul>
<h2>Log</h2><pre>${logs.map((l) => `${esc(l.ts.toISOString())} ${esc(l.level.padEnd(5))} ${esc(l.message)}`).join('\n')}</pre>`,
    { refresh: open, csrf },
  );
}

/** The signed-in caller and the CSRF token of their session's forms. */
interface SignedIn {
  auth: AuthContext;
  csrf: string;
}

/**
 * The dashboard's routes, mounted at `/ui`. `limiter` is the API's: a signed-in request counts
 * against its key and its account as an API call would.
 */
export function dashboard(deps: RunDeps, limiter: RateLimiter): Router {
  const ui = express.Router();
  const sessions = new DashboardSessions(deps.dataSource, deps.config.adminKey, deps.config.dashboardSessionMs);
  // Sign-in attempts per client address, and per connecting peer (a proxy, or one forging X-Forwarded-For) ten times that.
  const signInByAddress = new RateLimiter(deps.config.dashboardSignInPerMinute);
  const signInByPeer = new RateLimiter(deps.config.dashboardSignInPerMinute * 10);
  const secureCookies = deps.config.publicUrl?.startsWith('https:') ?? false;
  const cookieOptions = (req: Request, sameSite: 'lax' | 'strict', maxAge: number) =>
    ({ httpOnly: true, sameSite, secure: secureCookies || req.secure, path: '/ui', maxAge }) as const;

  ui.use(express.urlencoded({ extended: false, limit: '16kb' }));
  const html = (res: Response, status: number, body: string): void => {
    res.status(status).type('html').set('Cache-Control', 'no-store').send(body);
  };
  /** The sign-in page, with a fresh form token in its cookie unless the browser holds one. */
  const showSignIn = (req: Request, res: Response, status: number, error?: string): void => {
    const held = cookie(req, SIGN_IN_COOKIE);
    const token = held && TOKEN.test(held) ? held : newToken();
    res.cookie(SIGN_IN_COOKIE, token, cookieOptions(req, 'strict', SIGN_IN_TOKEN_MS));
    const next = req.method === 'GET' && NEXT_PATH.test(req.originalUrl) ? req.originalUrl : '/ui/';
    html(res, status, signInPage(token, next, error));
  };
  const errorPage = (res: Response, err: unknown, url: string, csrf?: string): void => {
    const status = err instanceof HttpError ? err.status : err instanceof DomainError ? (err.kind === 'not_found' ? 404 : 409) : 500;
    if (status === 500) gatewayLog.error({ err, url }, 'dashboard page failed');
    if (err instanceof HttpError) res.set(err.headers);
    const title = status === 404 ? 'Not found' : status === 429 ? 'Too many requests' : 'Could not do that';
    html(res, status, page('Error', `<h1>${title}</h1><p>${esc(status === 500 ? 'internal error' : (err as Error).message)}</p><p><a href="/ui/">Back to the runs</a></p>`, { csrf }));
  };
  /**
   * Runs a page handler for a live session: counted against the key's rate limit, a POST only
   * with the session's CSRF token (else 403), and only with `scope`. Errors become a page, never a stack.
   */
  const handle =
    (scope: Scope, fn: (req: Request, res: Response, s: SignedIn) => Promise<void>) =>
    async (req: Request, res: Response) => {
      let csrf: string | undefined;
      try {
        const id = cookie(req, SESSION_COOKIE);
        const auth = id ? await sessions.resolve(id) : undefined;
        if (!id || !auth) {
          if (id) res.clearCookie(SESSION_COOKIE, { path: '/ui' });
          return showSignIn(req, res, 401);
        }
        csrf = csrfToken(id);
        limiter.take(auth);
        if (req.method !== 'GET' && req.method !== 'HEAD' && !sameToken((req.body as Record<string, unknown> | undefined)?.csrf, csrf))
          throw new HttpError(403, 'this form has no valid CSRF token: reload the page and try again');
        if (!auth.scopes.includes(scope)) throw new HttpError(403, `this key lacks the "${scope}" scope`);
        await fn(req, res, { auth, csrf });
      } catch (err) {
        if (res.headersSent) return void res.end();
        errorPage(res, err, req.originalUrl, csrf);
      }
    };

  ui.post('/login', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      signInByAddress.take(`ip:${req.ip}`);
      signInByPeer.take(`peer:${req.socket.remoteAddress}`);
    } catch (err) {
      if (err instanceof HttpError) res.set(err.headers);
      return showSignIn(req, res, 429, `Too many sign-in attempts from this address: try again in ${err instanceof HttpError ? err.headers['Retry-After'] : 60} s.`);
    }
    const token = cookie(req, SIGN_IN_COOKIE);
    if (!token || !sameToken(body.csrf, token)) return showSignIn(req, res, 403, 'The sign-in form expired: sign in again.');
    req.headers['x-api-key'] = typeof body.apiKey === 'string' ? body.apiKey.trim() : '';
    let auth: AuthContext;
    try {
      auth = await authenticate(req, deps.dataSource, deps.config.adminKey, 'account', 'read');
    } catch {
      return showSignIn(req, res, 401, 'That key was not accepted.');
    } finally {
      delete req.headers['x-api-key'];
    }
    const previous = cookie(req, SESSION_COOKIE);
    if (previous) await sessions.end(previous);
    const session = await sessions.start(auth);
    res.clearCookie(SIGN_IN_COOKIE, { path: '/ui' });
    res.cookie(SESSION_COOKIE, session.id, cookieOptions(req, 'lax', session.maxAgeMs));
    res.redirect(303, typeof body.next === 'string' && NEXT_PATH.test(body.next) ? body.next : '/ui/');
  });
  ui.post(
    '/logout',
    handle('read', async (req, res) => {
      await sessions.end(cookie(req, SESSION_COOKIE)!);
      res.clearCookie(SESSION_COOKIE, { path: '/ui' });
      res.redirect(303, '/ui/');
    }),
  );
  ui.get('/', handle('read', async (req, res, { auth, csrf }) => html(res, 200, await runsPage(deps, auth, csrf, req))));
  ui.get(
    '/runs/:runId',
    handle('read', async (req, res, { auth, csrf }) =>
      html(res, 200, await runPage(deps, auth, csrf, String(req.params.runId), `${req.protocol}://${req.get('host')}`)),
    ),
  );
  // The run's artifacts, behind the session (the API's own URLs want a key header).
  ui.get(
    '/runs/:runId/artifacts/:file',
    handle('read', async (req, res, { auth }) => {
      const runId = String(req.params.runId);
      if (req.params.file === 'log.jsonl') await sendJsonl(res, await logLines(deps, auth.accountId, runId));
      else if (req.params.file === 'network.jsonl') await sendJsonl(res, await networkLines(deps, auth.accountId, runId));
      else if (req.params.file === 'performance.json') res.json(await performance(deps, auth.accountId, runId));
      else html(res, 404, page('Not found', '<h1>Not found</h1>'));
    }),
  );
  ui.get(
    '/runs/:runId/screenshots/:stepId/:file',
    handle('read', async (req, res, { auth }) => {
      const file = String(req.params.file);
      const f = await artifactFile(deps, auth.accountId, String(req.params.runId), String(req.params.stepId), file);
      sendRunFile(res, file, f.contentType, f.data);
    }),
  );
  ui.post(
    '/runs/:runId/cancel',
    handle('run', async (req, res, { auth }) => {
      await cancelRun(deps, auth.accountId, String(req.params.runId));
      res.redirect(303, `/ui/runs/${encodeURIComponent(String(req.params.runId))}`);
    }),
  );
  ui.post(
    '/runs/:runId/rerun',
    handle('run', async (req, res, { auth }) => {
      const r = await rerunRun(deps, auth, String(req.params.runId));
      res.redirect(303, `/ui/runs/${encodeURIComponent(r.runs[0]!.id)}`);
    }),
  );
  for (const verb of ['approve', 'reject'] as const)
    ui.post(
      `/runs/:runId/steps/:stepId/${verb}`,
      handle('run', async (req, res, { auth }) => {
        await decideApproval(deps, auth, String(req.params.runId), String(req.params.stepId), verb === 'approve', 'from the dashboard');
        res.redirect(303, `/ui/runs/${encodeURIComponent(String(req.params.runId))}`);
      }),
    );
  return ui;
}
