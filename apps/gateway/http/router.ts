/**
 * Turns the declarative route list into Express routes. Authentication, validation, the
 * JSON reply and every error go through here, so each route stays a schema plus a use-case call.
 */
import type { IncomingMessage } from 'node:http';
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from 'express';
import type { z } from 'zod';
import { DomainError } from '../../../domain/errors';
import { gatewayLog } from '../../../platform/log';
import { httpDuration, httpRequests } from '../../../platform/metrics';
import type { AuthContext, GatewayDeps } from '../deps';
import { authenticate } from './auth-middleware';
import { rateLimitHeaders, SharedRateLimiter } from '../shared/rate-limit';
import { fromDomainError, HttpError, type ErrorDetail } from './errors';
import { checkResponse } from './response-check';
import { isReply, type AnyRoute } from './route';
import { issuesToDetail, validationError } from './validation';

/** Largest JSON body a client may send; larger ones are answered 413. */
const BODY_LIMIT = '1mb';
/** An agent's result carries a browser step's files as base64 (activities/agent.ts bounds them). */
const AGENT_RESULT_PATH = /^\/api\/v1\/agents\/[^/]+\/attempts\/[^/]+\/result\/?$/;
const AGENT_RESULT_LIMIT = '4mb';

/** PUBLIC_URL when configured, else what the client used to reach us. */
const requestBaseUrl = (req: Request, publicUrl?: string): string =>
  publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;

async function parsePart(
  schema: z.ZodType | undefined,
  value: unknown,
  prefix: 'body' | 'query' | 'path',
  detail: ErrorDetail[],
): Promise<unknown> {
  if (!schema) return undefined;
  const parsed = await schema.safeParseAsync(value);
  if (parsed.success) return parsed.data;
  detail.push(...issuesToDetail(parsed.error.issues, prefix));
  return undefined;
}

/** Postgres text cannot hold NUL, so an id or filter carrying one is refused before it reaches a query. */
function nulBytes(req: Request): ErrorDetail[] {
  const found: ErrorDetail[] = [];
  const scan = (prefix: 'path' | 'query', values: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(values))
      if ((Array.isArray(v) ? v : [v]).some((x) => typeof x === 'string' && x.includes('\0')))
        found.push({ loc: [prefix, k], msg: 'must not contain a NUL character', type: 'string_invalid' });
  };
  scan('path', req.params as Record<string, unknown>);
  scan('query', req.query as Record<string, unknown>);
  return found;
}

export interface RouterOptions {
  /** Check every JSON reply against its route's response schema made strict (tests); a mismatch is a 500. */
  strictResponses?: boolean;
}

function routeHandler(spec: AnyRoute, deps: GatewayDeps, options: RouterOptions, limiter: SharedRateLimiter): RequestHandler {
  const level = spec.auth ?? 'account';
  const scope = spec.scope ?? (spec.method === 'get' ? 'read' : 'run');
  const check = (status: number, body: unknown) => {
    if (options.strictResponses && spec.response && status < 300 && body !== undefined)
      checkResponse(spec.response, body, `${spec.method.toUpperCase()} ${spec.path}`);
  };
  return async (req, res, next) => {
    const started = process.hrtime.bigint();
    let accountId: string | undefined;
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const labels = { route: spec.path, status: String(res.statusCode) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, seconds);
      gatewayLog.debug({ method: spec.method.toUpperCase(), route: spec.path, status: res.statusCode, ms: Math.round(seconds * 1000), accountId, ...req.params }, 'request');
    });
    try {
      const auth =
        level === 'none' ? undefined : await authenticate(req, deps.dataSource, deps.config.adminKey, level, scope);
      accountId = auth?.accountId;
      const rate = auth ? await limiter.take(auth) : undefined;
      if (rate) res.set(rateLimitHeaders(rate));
      const detail: ErrorDetail[] = nulBytes(req);
      const params = await parsePart(spec.params, { ...req.params }, 'path', detail);
      const query = await parsePart(spec.query, { ...(req.query as object) }, 'query', detail);
      const body = await parsePart(spec.body, req.body ?? {}, 'body', detail);
      if (detail.length) throw validationError(detail, spec.validationStatus ?? 400);
      const ctx = {
        params,
        query,
        body,
        auth: auth as AuthContext,
        req,
        res,
        baseUrl: requestBaseUrl(req, deps.config.publicUrl),
      } as Parameters<AnyRoute['handler']>[0];
      const result = await spec.handler(ctx);
      if (isReply(result)) {
        check(result.status, result.body);
        res.status(result.status);
        if (result.headers) res.set(result.headers);
        if (result.body === undefined) res.end();
        else res.json(result.body);
      } else if (res.headersSent || res.writableEnded) {
        return;
      } else if (result === undefined) {
        res.status(spec.status ?? 200).end();
      } else {
        check(spec.status ?? 200, result);
        res.status(spec.status ?? 200).json(result);
      }
    } catch (err) {
      next(err instanceof DomainError ? fromDomainError(err, spec.fields, spec.validationStatus) : err);
    }
  };
}

/**
 * Mounts routes in list order, so a literal segment declared first wins over a parameter. `limiter`
 * is shared with the dashboard, so a key's requests count once whichever way they come.
 */
export function mountRoutes(
  app: Express | express.Router,
  routes: readonly AnyRoute[],
  deps: GatewayDeps,
  options: RouterOptions = {},
  limiter = new SharedRateLimiter(deps.dataSource, deps.config.rateLimitPerMinute, deps.config.rateLimitPerAccountPerMinute),
): void {
  for (const spec of routes) app.route(spec.path)[spec.method](routeHandler(spec, deps, options, limiter));
}

const JSON_TYPE = /^\s*(application\/(json|[\w.+-]+\+json)|text\/plain)\s*(;|$)/i;
const FORM_TYPE = /^\s*application\/x-www-form-urlencoded\s*(;|$)/i;

/**
 * JSON bodies up to BODY_LIMIT. A body without a content type, or sent as text/plain, is read
 * as JSON too; so is a form body that is really JSON (`curl -d '{...}'` labels it a form);
 * other form bodies become fields; anything else with a body is 415.
 */
export function bodyParsers(): RequestHandler[] {
  const jsonType = (req: IncomingMessage): boolean => {
    const type = req.headers['content-type'];
    return !type || JSON_TYPE.test(type);
  };
  const formType = (req: IncomingMessage): boolean => FORM_TYPE.test(req.headers['content-type'] ?? '');
  const agentResult = (req: IncomingMessage): boolean => AGENT_RESULT_PATH.test((req.url ?? '').split('?')[0]);
  return [
    express.json({ limit: AGENT_RESULT_LIMIT, type: (req) => agentResult(req) && jsonType(req), strict: false }),
    express.json({ limit: BODY_LIMIT, type: jsonType, strict: false }),
    express.text({ limit: BODY_LIMIT, type: formType }),
    (req, _res, next) => {
      if (typeof req.body === 'string' && formType(req)) {
        const text = req.body.trim();
        if (text.startsWith('{') || text.startsWith('[')) {
          try {
            req.body = JSON.parse(text);
          } catch (err) {
            return next(Object.assign(err as Error, { type: 'entity.parse.failed' }));
          }
        } else req.body = Object.fromEntries(new URLSearchParams(text));
      }
      const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
      if (hasBody && req.body === undefined)
        return next(
          new HttpError(415, `unsupported content type ${req.get('content-type')}: send application/json`, [
            { loc: ['header', 'content-type'], msg: 'expected application/json', type: 'unsupported_media_type' },
          ]),
        );
      next();
    },
  ];
}

/** Express-style path → a regex over the request path (case-insensitive, optional trailing slash, as Express matches). */
function pathPattern(path: string): RegExp {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === ':' || c === '*') {
      let j = i + 1;
      while (j < path.length && /[A-Za-z0-9_$]/.test(path[j])) j++;
      out += c === ':' ? '[^/]+' : '.+';
      i = j - 1;
    } else if (c === '{') out += '(?:';
    else if (c === '}') out += ')?';
    else out += c.replace(/[.+?^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}/?$`, 'i');
}

/** Unknown paths are 404; a known path asked with another method is 405 with `Allow` (OPTIONS answers just the `Allow`). */
export function fallbackHandler(routes: readonly AnyRoute[]): RequestHandler {
  const patterns = routes.map((r) => ({ method: r.method.toUpperCase(), re: pathPattern(r.path) }));
  return (req, res, next) => {
    const allowed = new Set(patterns.filter((p) => p.re.test(req.path)).map((p) => p.method));
    if (allowed.size === 0) return next(new HttpError(404, `no route for ${req.method} ${req.path}`));
    if (allowed.has('GET')) allowed.add('HEAD');
    allowed.add('OPTIONS');
    const allow = [...allowed].join(', ');
    if (req.method === 'OPTIONS') {
      res.status(204).set('Allow', allow).end();
      return;
    }
    next(new HttpError(405, `method ${req.method} not allowed on ${req.path}; allowed: ${allow}`, [], { Allow: allow }));
  };
}

interface ParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
}

/** What a client sees for any failure; unexpected ones are logged with their stack and answered 500. */
function renderError(err: unknown): { status: number; body: { error: string; detail: ErrorDetail[] }; headers: Record<string, string> } {
  if (err instanceof DomainError) return renderError(fromDomainError(err));
  if (err instanceof HttpError) return { status: err.status, body: { error: err.message, detail: err.detail }, headers: err.headers };
  const e = (err ?? {}) as ParserError;
  const status = e.status ?? e.statusCode;
  const one = (s: number, message: string, loc: (string | number)[], type: string) => ({
    status: s,
    body: { error: message, detail: loc.length ? [{ loc, msg: message, type }] : [] },
    headers: {},
  });
  switch (e.type) {
    case 'entity.parse.failed':
      return one(400, `body: malformed JSON (${e.message ?? 'parse error'})`, ['body'], 'json_invalid');
    case 'entity.too.large':
      return one(413, `body: larger than the ${BODY_LIMIT} limit`, ['body'], 'too_large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return one(415, `body: ${e.message ?? 'unsupported encoding'}`, ['header', 'content-type'], 'unsupported_media_type');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return one(400, `body: ${e.message ?? 'could not be read'}`, ['body'], 'body_invalid');
  }
  // SQLSTATE class 22 (data exception) is a value the client sent that Postgres cannot hold, e.g. a NUL in text.
  const sqlState = (err as { driverError?: { code?: unknown } } | null)?.driverError?.code;
  if (typeof sqlState === 'string' && sqlState.startsWith('22'))
    return one(400, `a value cannot be stored (${e.message ?? sqlState})`, [], 'value_error');
  if (typeof status === 'number' && status >= 400 && status < 500)
    return { status, body: { error: e.expose !== false && e.message ? e.message : 'bad request', detail: [] }, headers: {} };
  return { status: 500, body: { error: 'internal error', detail: [] }, headers: {} };
}

/** The one error middleware: every failure leaves in the error shape and the process keeps running. */
export function errorHandler(): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { status, body, headers } = renderError(err);
    if (status >= 500) gatewayLog.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).set(headers).json(body);
  };
}
