/**
 * The dashboard at `/ui/`: server-rendered pages over the same use cases as the API, behind the
 * same keys. Signing in with an API key starts a session (ui/sessions.ts): the cookie holds an
 * opaque session id, never the key; every form carries the session's CSRF token; every request
 * counts against the key's and the account's rate limits like an API call, and sign-in attempts
 * against the client address. The pages and their actions are in ui/routes.ts (runs with filters,
 * a run, a batch, a flow with its chart, schedules, the visual review); the one script, for live
 * updates of open runs and batches, in ui/live.ts.
 */
import express, { type Request, type Response, type Router } from 'express';
import { DomainError } from '../../../domain/errors';
import { gatewayLog } from '../../../platform/log';
import type { AuthContext, RunDeps, Scope } from '../deps';
import { authenticate } from '../http/auth-middleware';
import { SharedRateLimiter } from '../shared/rate-limit';
import { HttpError } from '../http/errors';
import { cookie, esc, form, page } from './html';
import { mountPages, type SignedIn } from './routes';
import { csrfToken, DashboardSessions, newToken, sameToken } from './sessions';

/** The session id. */
const SESSION_COOKIE = 'flowruns_session';
/** The sign-in form's own CSRF token (double submit), so no other site can sign a browser in. */
const SIGN_IN_COOKIE = 'flowruns_signin';
const SIGN_IN_TOKEN_MS = 3_600_000;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Where a sign-in may lead: a dashboard path, never another host (`//evil`, `/\evil`). */
const NEXT_PATH = /^\/ui\/(?![/\\])[^\s\\]*$/;

/** The status a use case's refusal is shown with. */
const DOMAIN_STATUS: Partial<Record<DomainError['kind'], number>> = { not_found: 404, invalid: 400, forbidden: 403, unavailable: 503 };

const signInPage = (token: string, next: string, error?: string) =>
  page(
    'Sign in',
    `<h1>Sign in</h1>${error ? `<p class="err" role="alert">${esc(error)}</p>` : ''}${form('/ui/login', token, `<input type="hidden" name="next" value="${esc(next)}"><label>API key <input name="apiKey" type="password" size="50" autofocus></label> <button type="submit">Sign in</button>`, 'signin')}`,
  );

/**
 * The dashboard's routes, mounted at `/ui`. `limiter` is the API's: a signed-in request counts
 * against its key and its account as an API call would.
 */
export function dashboard(deps: RunDeps, limiter: SharedRateLimiter): Router {
  const ui = express.Router();
  const sessions = new DashboardSessions(deps.dataSource, deps.config.adminKey, deps.config.dashboardSessionMs);
  // Sign-in attempts per client address, and per connecting peer (a proxy, or one forging X-Forwarded-For) ten times that.
  const signInByAddress = new SharedRateLimiter(deps.dataSource, deps.config.dashboardSignInPerMinute);
  const signInByPeer = new SharedRateLimiter(deps.dataSource, deps.config.dashboardSignInPerMinute * 10);
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
    const status = err instanceof HttpError ? err.status : err instanceof DomainError ? (DOMAIN_STATUS[err.kind] ?? 409) : 500;
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
        await limiter.take(auth);
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
      await signInByAddress.take(`signin-ip:${req.ip}`);
      await signInByPeer.take(`signin-peer:${req.socket.remoteAddress}`);
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
  mountPages(ui, deps, handle);
  return ui;
}
