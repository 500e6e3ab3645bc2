/**
 * `http`: one real request per attempt, recorded for the run's network artifact. 5xx and network
 * errors are retried; a 4xx or any other unexpected status is not.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { ActivityStepType } from './step-type';

export const HTTP_STATUS_ERROR = 'HttpStatusError';
const HTTP_SERVER_ERROR = 'HttpServerError';
const NETWORK_ERROR = 'NetworkError';
export const INVALID_REQUEST = 'InvalidRequest';

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
const DEFAULT_TIMEOUT_MS = 30_000;

const config = z.object({
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

export const httpStep: ActivityStepType<'http', typeof config> = {
  type: 'http',
  runsIn: 'activity',
  config,
  nonRetryable: [HTTP_STATUS_ERROR, INVALID_REQUEST],
  renderConfig: true,
  attemptTimeoutMs: (c) => (c.timeoutMs ?? DEFAULT_TIMEOUT_MS) + 10_000,

  async execute(c, ctx): Promise<HttpOutput> {
    const { clock } = ctx;
    const method = (c.method ?? 'GET').toUpperCase();
    let url: URL;
    try {
      url = new URL(c.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`invalid url "${c.url}": ${(err as Error).message}`, INVALID_REQUEST);
    }
    const headers = Object.fromEntries(Object.entries(c.headers ?? {}).map(([k, v]) => [k, String(v)]));
    const body = requestBody(c.body, headers);
    const timeoutMs = c.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const started = clock();
    const base = { attempt: ctx.attempt, ts: started, method, url: url.toString(), resourceType: 'fetch' };
    let res: Response;
    let text: string;
    try {
      res = await ctx.fetch(url, { method, headers, body, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]) });
      text = await res.text();
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const reason = (err as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs}ms` : cause?.code ?? cause?.message ?? (err as Error).message;
      const durationMs = clock().getTime() - started.getTime();
      await ctx.recordRequest({ ...base, status: 0, durationMs, responseSize: 0, error: reason });
      throw ApplicationFailure.retryable(`${method} ${url} failed: ${reason}`, NETWORK_ERROR);
    }
    const durationMs = clock().getTime() - started.getTime();
    await ctx.recordRequest({ ...base, status: res.status, durationMs, responseSize: new TextEncoder().encode(text).length, error: null });
    const expected = c.expectStatus;
    const ok = expected ? expected.includes(res.status) : res.status >= 200 && res.status < 300;
    if (!ok) {
      const want = expected ? expected.join(' or ') : '2xx';
      const message = `${method} ${url} answered ${res.status}, expected ${want}: ${text.slice(0, 200)}`;
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
