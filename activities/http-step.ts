/**
 * The `http` step: one real request per attempt, recorded for the run's network artifact.
 * 5xx and network errors are retryable; a 4xx or any other unexpected status is not.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { HttpStepConfig } from '../domain/flow-types';
import type { RunRequest } from '../db/entities';

export interface HttpOutput {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  durationMs: number;
}

export interface HttpCall {
  config: HttpStepConfig;
  signal: AbortSignal;
  attempt: number;
  /** Called once per attempt with what the request did, success or not. */
  record: (row: Omit<RunRequest, 'runId' | 'stepId'>) => Promise<void>;
  fetch: typeof globalThis.fetch;
  clock: () => Date;
}

export const HTTP_STATUS_ERROR = 'HttpStatusError';
export const HTTP_SERVER_ERROR = 'HttpServerError';
export const NETWORK_ERROR = 'NetworkError';
export const INVALID_REQUEST = 'InvalidRequest';

const DEFAULT_TIMEOUT_MS = 30_000;

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

export async function executeHttp(call: HttpCall): Promise<HttpOutput> {
  const { config, clock } = call;
  const method = (config.method ?? 'GET').toUpperCase();
  let url: URL;
  try {
    url = new URL(config.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`invalid url "${config.url}": ${(err as Error).message}`, INVALID_REQUEST);
  }
  const headers = Object.fromEntries(Object.entries(config.headers ?? {}).map(([k, v]) => [k, String(v)]));
  const body = requestBody(config.body, headers);
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = clock();
  const base = { attempt: call.attempt, ts: started, method, url: url.toString(), resourceType: 'fetch' };
  let res: Response;
  let text: string;
  try {
    res = await call.fetch(url, { method, headers, body, signal: AbortSignal.any([call.signal, AbortSignal.timeout(timeoutMs)]) });
    text = await res.text();
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = (err as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs}ms` : cause?.code ?? cause?.message ?? (err as Error).message;
    const durationMs = clock().getTime() - started.getTime();
    await call.record({ ...base, status: 0, durationMs, responseSize: 0, error: reason });
    throw ApplicationFailure.retryable(`${method} ${url} failed: ${reason}`, NETWORK_ERROR);
  }
  const durationMs = clock().getTime() - started.getTime();
  await call.record({ ...base, status: res.status, durationMs, responseSize: Buffer.byteLength(text), error: null });
  const expected = config.expectStatus;
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
}
