/**
 * `http`: one real request per attempt, recorded for the run's network artifact. 5xx and network
 * errors are retried; a 4xx or any other unexpected status is not.
 *
 * The request goes out through the worker's egress-guarded fetch (`activities/egress.ts`): an
 * address the egress policy refuses (loopback, link-local, private, … unless
 * FLOWRUNS_EGRESS_ALLOW opens it) fails the step at once with `EgressDenied`, and a body above
 * FLOWRUNS_HTTP_MAX_BODY_BYTES with `ResponseTooLarge`. Redirects are followed here, hop by hop
 * (`redirect: 'manual'`, at most MAX_REDIRECTS), so every hop goes through the same checks.
 * The network artifact keeps one row per attempt (it is keyed by run, step and attempt): the
 * last hop's — the answer the step judged, or the hop that was refused or failed — with the URL
 * of that hop and the duration of the whole chain.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { ActivityStepType, RequestRecord } from './step-type';

export const HTTP_STATUS_ERROR = 'HttpStatusError';
const HTTP_SERVER_ERROR = 'HttpServerError';
const NETWORK_ERROR = 'NetworkError';
export const INVALID_REQUEST = 'InvalidRequest';
/** The egress policy refused the address a request (or a redirect hop) would connect to. */
export const EGRESS_DENIED = 'EgressDenied';
/** The response body was larger than the worker's cap (FLOWRUNS_HTTP_MAX_BODY_BYTES). */
export const RESPONSE_TOO_LARGE = 'ResponseTooLarge';
export const TOO_MANY_REDIRECTS = 'TooManyRedirects';

/** Redirect hops followed after the first request before the step gives up. */
export const MAX_REDIRECTS = 10;

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
const DEFAULT_TIMEOUT_MS = 30_000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers not carried to another origin by a redirect (as fetch does for Authorization). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
const BODY_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']);

const config = z.strictObject({
  method: z
    .string()
    .transform((m) => m.toUpperCase())
    .pipe(z.enum(HTTP_METHODS))
    .optional(),
  url: z.string().min(1),
  headers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  body: z.unknown().optional(),
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  timeoutMs: z.number().int().min(1).max(600_000).optional(),
});
export type HttpConfig = z.output<typeof config>;

export interface HttpOutput {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  durationMs: number;
}

function requestBody(body: unknown, headers: Record<string, string>): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  return JSON.stringify(body);
}

function parseBody(text: string, contentType: string | null): unknown {
  if (text.length === 0) return null;
  if (contentType?.includes('json') || /^\s*[[{"]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function httpUrl(raw: string, base?: URL): URL {
  const url = new URL(raw, base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`);
  return url;
}

/** Reads a body as a stream, counting its bytes; the egress fetch errors the stream past its cap. */
async function readBody(res: Response): Promise<{ text: string; size: number }> {
  if (!res.body) return { text: '', size: 0 };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch (err) {
    throw Object.assign(err as Error, { bytesRead: size });
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return { text: new TextDecoder().decode(all), size };
}

/** The next hop of a redirect: fetch's rules for the method, the body and the headers carried. */
function redirectHop(
  from: { url: URL; method: string; headers: Record<string, string>; body: string | undefined },
  status: number,
  to: URL,
): { url: URL; method: string; headers: Record<string, string>; body: string | undefined } {
  const toGet = status === 303 ? from.method !== 'HEAD' : (status === 301 || status === 302) && from.method === 'POST';
  const method = toGet ? 'GET' : from.method;
  const sameOrigin = to.origin === from.url.origin;
  const headers = Object.fromEntries(
    Object.entries(from.headers).filter(([k]) => (sameOrigin || !CREDENTIAL_HEADERS.has(k.toLowerCase())) && !(toGet && BODY_HEADERS.has(k.toLowerCase()))),
  );
  return { url: to, method, headers, body: toGet ? undefined : from.body };
}

export const httpStep: ActivityStepType<'http', typeof config> = {
  type: 'http',
  runsIn: 'activity',
  config,
  nonRetryable: [HTTP_STATUS_ERROR, INVALID_REQUEST, EGRESS_DENIED, RESPONSE_TOO_LARGE, TOO_MANY_REDIRECTS],
  renderConfig: true,
  attemptTimeoutMs: (c) => (c.timeoutMs ?? DEFAULT_TIMEOUT_MS) + 10_000,

  async execute(c, ctx): Promise<HttpOutput> {
    const { clock } = ctx;
    const method = (c.method ?? 'GET').toUpperCase();
    let url: URL;
    try {
      url = httpUrl(c.url);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`invalid url "${c.url}": ${(err as Error).message}`, INVALID_REQUEST);
    }
    const headers = Object.fromEntries(Object.entries(c.headers ?? {}).map(([k, v]) => [k, String(v)]));
    const timeoutMs = c.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
    const started = clock();
    let hop = { url, method, headers, body: requestBody(c.body, headers) };
    /** "GET <url>", with the redirect that led there when it is not the first hop. */
    let label = `${method} ${url}`;
    const record = (row: Pick<RequestRecord, 'status' | 'responseSize' | 'error'>, durationMs = clock().getTime() - started.getTime()) =>
      ctx.recordRequest({ attempt: ctx.attempt, ts: started, method: hop.method, url: hop.url.toString(), resourceType: 'fetch', durationMs, ...row });

    let res: Response;
    let text: string;
    let size: number;
    for (let redirects = 0; ; redirects++) {
      try {
        res = await ctx.fetch(hop.url, { method: hop.method, headers: hop.headers, body: hop.body, redirect: 'manual', signal });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        if (e.name === EGRESS_DENIED) {
          await record({ status: 0, responseSize: 0, error: e.message });
          throw ApplicationFailure.nonRetryable(`${label} refused: ${e.message}`, EGRESS_DENIED);
        }
        const reason = e.name === 'TimeoutError' ? `timed out after ${timeoutMs}ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
        await record({ status: 0, responseSize: 0, error: reason });
        throw ApplicationFailure.retryable(`${label} failed: ${reason}`, NETWORK_ERROR);
      }
      const location = REDIRECT_STATUSES.has(res.status) ? res.headers.get('location') : null;
      if (location === null) break;
      await res.body?.cancel().catch(() => undefined);
      let next: URL;
      try {
        next = httpUrl(location, hop.url);
      } catch (err) {
        await record({ status: res.status, responseSize: 0, error: `bad redirect: ${(err as Error).message}` });
        throw ApplicationFailure.nonRetryable(`${label} redirected to "${location}": ${(err as Error).message}`, INVALID_REQUEST);
      }
      if (redirects === MAX_REDIRECTS) {
        await record({ status: res.status, responseSize: 0, error: `more than ${MAX_REDIRECTS} redirects` });
        throw ApplicationFailure.nonRetryable(`${method} ${url} redirected more than ${MAX_REDIRECTS} times (last to ${next})`, TOO_MANY_REDIRECTS);
      }
      hop = redirectHop(hop, res.status, next);
      label = `${method} ${url} (redirect ${redirects + 1} to ${hop.method} ${next})`;
    }
    try {
      ({ text, size } = await readBody(res));
    } catch (err) {
      const e = err as Error & { bytesRead?: number };
      if (e.name === RESPONSE_TOO_LARGE) {
        await record({ status: res.status, responseSize: e.bytesRead ?? 0, error: e.message });
        throw ApplicationFailure.nonRetryable(`${label}: ${e.message}`, RESPONSE_TOO_LARGE);
      }
      const reason = e.name === 'TimeoutError' ? `timed out after ${timeoutMs}ms` : e.message;
      await record({ status: res.status, responseSize: e.bytesRead ?? 0, error: `reading the body failed: ${reason}` });
      throw ApplicationFailure.retryable(`${label} failed reading the body: ${reason}`, NETWORK_ERROR);
    }
    const durationMs = clock().getTime() - started.getTime();
    await record({ status: res.status, responseSize: size, error: null }, durationMs);
    const expected = c.expectStatus;
    const ok = expected ? expected.includes(res.status) : res.status >= 200 && res.status < 300;
    if (!ok) {
      const want = expected ? expected.join(' or ') : '2xx';
      const message = `${label} answered ${res.status}, expected ${want}: ${text.slice(0, 200)}`;
      if (res.status >= 500) throw ApplicationFailure.retryable(message, HTTP_SERVER_ERROR);
      throw ApplicationFailure.nonRetryable(message, HTTP_STATUS_ERROR);
    }
    return {
      status: res.status,
      headers: Object.fromEntries(res.headers.entries()),
      body: parseBody(text, res.headers.get('content-type')),
      durationMs,
    };
  },
};
