/**
 * The dashboard at `/ui/`: server-rendered pages over the same use cases as the API, behind the
 * same keys (signed in with an API key, kept in an HttpOnly, SameSite=Strict cookie). Runs with
 * status filters and paging; a run's page with its step timeline (parallel branches side by
 * side), log and artifacts, refreshed while it runs; cancel, rerun and approve buttons; a link to
 * its workflow in the Temporal UI. No script, no bundle.
 */
import express, { type Request, type Response, type Router } from 'express';
import { DomainError } from '../../../domain/errors';
import { gatewayLog } from '../../log';
import { artifactFile } from '../visual/visual';
import { RUN_STATUSES, isTerminalRun, type RunStatus } from '../../../domain/statuses';
import type { AuthContext, RunDeps } from '../deps';
import { authenticate } from '../http/auth-middleware';
import { HttpError } from '../http/errors';
import { cancelRun } from '../runs/cancel';
import { logsOfRun, findRun } from '../runs/queries';
import { rerunRun } from '../runs/rerun';
import { listActionRuns } from '../surfaces/action-runs/use-cases';
import { decideApproval, logLines, networkLines, performance, runDetail } from '../surfaces/ci-batches/use-cases';
import { sendJsonl } from '../http/request';

const COOKIE = 'flowruns_key';

const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330}header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
header a{color:#fff;text-decoration:none}main{padding:20px}table{border-collapse:collapse;width:100%}td,th{padding:6px 8px;border-bottom:1px solid #e4e7ee;text-align:left}
.s{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#e4e7ee}.succeeded{background:#d3f3dc}.failed,.timed_out{background:#fbd9d9}.running,.waiting{background:#dce8fb}.cancelled,.skipped{background:#eee}
.tl{position:relative;border-left:1px solid #ccd;margin:10px 0}.row{position:relative;height:26px}.bar{position:absolute;height:20px;top:3px;border-radius:4px;font-size:12px;padding:0 6px;white-space:nowrap;overflow:hidden;box-sizing:border-box}
.shots{display:flex;flex-wrap:wrap;gap:12px}.shots figure{margin:0;border:1px solid #ccd;padding:4px}.shots img{display:block}
pre{background:#f6f7f9;padding:10px;overflow:auto;max-height:400px}form.inline{display:inline}button{cursor:pointer}nav a{margin-right:8px}`;

function page(title: string, body: string, opts: { refresh?: boolean } = {}): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)} · Flow Runs</title>${opts.refresh ? '<meta http-equiv="refresh" content="2">' : ''}<style>${STYLE}</style></head>
<body><header><strong>Flow Runs</strong><a href="/ui/">Runs</a><form class="inline" method="post" action="/ui/logout"><button>Sign out</button></form></header><main>${body}</main></body></html>`;
}

const badge = (status: string) => `<span class="s ${esc(status)}">${esc(status)}</span>`;

function cookieKey(req: Request): string | undefined {
  const raw = req.get('cookie') ?? '';
  for (const part of raw.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/** The signed-in caller, or undefined (the sign-in page is shown). */
async function signedIn(deps: RunDeps, req: Request, scope: 'read' | 'run'): Promise<AuthContext | undefined> {
  const key = cookieKey(req);
  if (!key) return undefined;
  req.headers['x-api-key'] = key;
  try {
    return await authenticate(req, deps.dataSource, deps.config.adminKey, 'account', scope);
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) return undefined;
    throw err;
  }
}

const signInPage = (error?: string) =>
  page(
    'Sign in',
    `<h1>Sign in</h1>${error ? `<p style="color:#b00">${esc(error)}</p>` : ''}<form method="post" action="/ui/login"><label>API key <input name="apiKey" type="password" size="50" autofocus></label> <button>Sign in</button></form>`,
  );

function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

async function runsPage(deps: RunDeps, auth: AuthContext, req: Request): Promise<string> {
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
  );
}

async function runPage(deps: RunDeps, auth: AuthContext, runId: string, baseUrl: string): Promise<string> {
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
        `<form class="inline" method="post" action="/ui/runs/${encodeURIComponent(run.id)}/steps/${encodeURIComponent(a.step_id)}/approve"><button>Approve ${esc(a.name)}</button></form> <form class="inline" method="post" action="/ui/runs/${encodeURIComponent(run.id)}/steps/${encodeURIComponent(a.step_id)}/reject"><button>Reject</button></form>`,
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
<p>${open ? `<form class="inline" method="post" action="/ui/runs/${encodeURIComponent(run.id)}/cancel"><button id="cancel">Cancel</button></form>` : ''}
<form class="inline" method="post" action="/ui/runs/${encodeURIComponent(run.id)}/rerun"><button id="rerun">Rerun</button></form> ${approvals}</p>
<h2>Steps</h2><table class="steps"><thead><tr><th>Step</th><th>Type</th><th>Status</th><th>Timeline</th><th>Error</th></tr></thead><tbody>${timeline}</tbody></table>
${shots ? `<h2>Screenshots</h2><div class="shots">${shots}</div>` : ''}
<h2>Artifacts</h2><ul>${artifacts || '<li>none yet</li>'}</ul>
<h2>Log</h2><pre>${logs.map((l) => `${esc(l.ts.toISOString())} ${esc(l.level.padEnd(5))} ${esc(l.message)}`).join('\n')}</pre>`,
    { refresh: open },
  );
}

/** The dashboard's routes, mounted at `/ui`. */
export function dashboard(deps: RunDeps): Router {
  const ui = express.Router();
  ui.use(express.urlencoded({ extended: false, limit: '16kb' }));
  const html = (res: Response, status: number, body: string): void => {
    res.status(status).type('html').set('Cache-Control', 'no-store').send(body);
  };
  /** Runs a page handler; errors become a page, never a stack. */
  const handle =
    (scope: 'read' | 'run', fn: (req: Request, res: Response, auth: AuthContext) => Promise<void>) =>
    async (req: Request, res: Response) => {
      try {
        const auth = await signedIn(deps, req, scope);
        if (!auth) return html(res, 401, signInPage());
        await fn(req, res, auth);
      } catch (err) {
        const status = err instanceof HttpError ? err.status : err instanceof DomainError ? (err.kind === 'not_found' ? 404 : 409) : 500;
        if (status === 500) gatewayLog.error({ err, url: req.originalUrl }, 'dashboard page failed');
        html(res, status, page('Error', `<h1>${status === 404 ? 'Not found' : 'Could not do that'}</h1><p>${esc(status === 500 ? 'internal error' : (err as Error).message)}</p><p><a href="/ui/">Back to the runs</a></p>`));
      }
    };

  ui.post('/login', async (req, res) => {
    const key = typeof req.body?.apiKey === 'string' ? req.body.apiKey.trim() : '';
    req.headers['x-api-key'] = key;
    try {
      await authenticate(req, deps.dataSource, deps.config.adminKey, 'account', 'read');
    } catch {
      return html(res, 401, signInPage('That key was not accepted.'));
    }
    res.cookie(COOKIE, key, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/ui' });
    res.redirect(303, '/ui/');
  });
  ui.post('/logout', (_req, res) => {
    res.clearCookie(COOKIE, { path: '/ui' });
    res.redirect(303, '/ui/');
  });
  ui.get('/', handle('read', async (req, res, auth) => html(res, 200, await runsPage(deps, auth, req))));
  ui.get(
    '/runs/:runId',
    handle('read', async (req, res, auth) => html(res, 200, await runPage(deps, auth, String(req.params.runId), `${req.protocol}://${req.get('host')}`))),
  );
  // The run's artifacts, behind the sign-in cookie (the API's own URLs want a key header).
  ui.get(
    '/runs/:runId/artifacts/:file',
    handle('read', async (req, res, auth) => {
      const runId = String(req.params.runId);
      if (req.params.file === 'log.jsonl') await sendJsonl(res, await logLines(deps, auth.accountId, runId));
      else if (req.params.file === 'network.jsonl') await sendJsonl(res, await networkLines(deps, auth.accountId, runId));
      else if (req.params.file === 'performance.json') res.json(await performance(deps, auth.accountId, runId));
      else html(res, 404, page('Not found', '<h1>Not found</h1>'));
    }),
  );
  ui.get(
    '/runs/:runId/screenshots/:stepId/:file',
    handle('read', async (req, res, auth) => {
      const f = await artifactFile(deps, auth.accountId, String(req.params.runId), String(req.params.stepId), String(req.params.file));
      res.status(200).type(f.contentType).end(f.data);
    }),
  );
  ui.post(
    '/runs/:runId/cancel',
    handle('run', async (req, res, auth) => {
      await cancelRun(deps, auth.accountId, String(req.params.runId));
      res.redirect(303, `/ui/runs/${encodeURIComponent(String(req.params.runId))}`);
    }),
  );
  ui.post(
    '/runs/:runId/rerun',
    handle('run', async (req, res, auth) => {
      const r = await rerunRun(deps, auth, String(req.params.runId));
      res.redirect(303, `/ui/runs/${encodeURIComponent(r.runs[0]!.id)}`);
    }),
  );
  for (const verb of ['approve', 'reject'] as const)
    ui.post(
      `/runs/:runId/steps/:stepId/${verb}`,
      handle('run', async (req, res, auth) => {
        await decideApproval(deps, auth, String(req.params.runId), String(req.params.stepId), verb === 'approve', 'from the dashboard');
        res.redirect(303, `/ui/runs/${encodeURIComponent(String(req.params.runId))}`);
      }),
    );
  return ui;
}
