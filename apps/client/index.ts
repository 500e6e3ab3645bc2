/**
 * A small typed client for the Flow Runs API, used by the `flowruns` CLI and the tests. Its
 * types are the gateway's own response schemas (the same zod schemas the OpenAPI document is
 * generated from), so the client and the document cannot drift apart; test/client.test.ts checks
 * that every path it calls is in the served document.
 */
import type { z } from 'zod';
import type { flowSchema } from '../gateway/definitions/flows';
import type { rerunSchema } from '../gateway/runs/rerun';
import type { batchStatusSchema, runDetailSchema, triggeredBatchSchema } from '../gateway/surfaces/ci-batches/views';
import type { actionRunPageSchema } from '../gateway/surfaces/action-runs/views';

export type TriggeredBatch = z.infer<typeof triggeredBatchSchema>;
export type BatchStatus = z.infer<typeof batchStatusSchema>;
export type RunDetail = z.infer<typeof runDetailSchema>;
export type Flow = z.infer<typeof flowSchema>;
export type Rerun = z.infer<typeof rerunSchema>;
export type RunPage = z.infer<typeof actionRunPageSchema>;

/** The body of `POST /api/v1/flows/run`. */
export interface TriggerBody {
  app_id?: string;
  suite_ids?: string[];
  flow_ids?: string[];
  env?: Record<string, string>;
  browser?: string;
  max_parallel?: number;
  source?: 'api' | 'ci' | 'dashboard' | 'mcp';
  data?: unknown;
}

/** One event of a `…/events` stream. */
export interface StreamEvent {
  id: string;
  event: string;
  data: { run_id: string; batch_id: string | null; step_id: string | null; timestamp: string; level: string; message: string; status?: string; attempt?: number };
}

/** A failed call: the status and the API's own error text and field details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; detail?: { loc: (string | number)[]; msg: string }[] } | null,
    method: string,
    path: string,
  ) {
    const detail = body?.detail?.map((d) => `${d.loc.join('.')}: ${d.msg}`).join('; ');
    super(`${method} ${path} → ${status}: ${body?.error ?? 'no error text'}${detail && detail !== body?.error ? ` (${detail})` : ''}`);
  }
}

function parseJson(text: string): ApiError['body'] {
  try {
    return JSON.parse(text) as ApiError['body'];
  } catch {
    return null;
  }
}

/** Every endpoint the client calls, as the OpenAPI document names it (test/client.test.ts checks each is there). */
export const ENDPOINTS = {
  trigger: ['post', '/api/v1/flows/run'],
  batch: ['get', '/api/v1/runs/status'],
  run: ['get', '/api/v1/runs/{runId}'],
  runs: ['get', '/api/v1/flow-runs'],
  cancel: ['post', '/api/v1/runs/{runId}/cancel'],
  rerun: ['post', '/api/v1/runs/{runId}/rerun'],
  logs: ['get', '/api/v1/runs/{runId}/artifacts/log.jsonl'],
  flow: ['get', '/api/v1/flows/{flowId}'],
  putFlow: ['put', '/api/v1/flows/{flowId}'],
  batchEvents: ['get', '/api/v1/batches/{batchId}/events'],
  runEvents: ['get', '/api/v1/runs/{runId}/events'],
} as const satisfies Record<string, readonly ['get' | 'post' | 'put' | 'delete', string]>;

/** An endpoint's path with its parameters filled in. */
function pathOf(name: keyof typeof ENDPOINTS, params: Record<string, string> = {}, query?: URLSearchParams): string {
  const path = ENDPOINTS[name][1].replace(/\{(\w+)\}/g, (_m, p: string) => encodeURIComponent(params[p] ?? ''));
  return query?.size ? `${path}?${query}` : path;
}

const verb = (name: keyof typeof ENDPOINTS) => ENDPOINTS[name][0].toUpperCase();

export interface ClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Per-call deadline (streams excepted). */
  timeoutMs?: number;
}

export class FlowRunsClient {
  private readonly baseUrl: string;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  /** Calls the API; a non-2xx answer throws ApiError with the API's error text. */
  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { 'X-API-Key': this.options.apiKey, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    const parsed = text ? (parseJson(text) ?? { error: text.slice(0, 500) }) : null;
    if (!res.ok) throw new ApiError(res.status, parsed as ApiError['body'], method, path);
    return parsed as T;
  }

  /** Text endpoints (the JSONL artifacts). */
  async text(path: string): Promise<string> {
    const res = await fetch(`${this.baseUrl}${path}`, { headers: { 'X-API-Key': this.options.apiKey }, signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000) });
    const text = await res.text();
    if (!res.ok) throw new ApiError(res.status, parseJson(text), 'GET', path);
    return text;
  }

  /** `Idempotency-Key` makes a retried trigger land on the one batch. */
  trigger(body: TriggerBody, idempotencyKey: string): Promise<TriggeredBatch> {
    return this.call(verb('trigger'), pathOf('trigger'), body, { 'Idempotency-Key': idempotencyKey });
  }

  batch(batchId: string): Promise<BatchStatus> {
    return this.call(verb('batch'), pathOf('batch', {}, new URLSearchParams({ batch_id: batchId })));
  }

  run(runId: string): Promise<RunDetail> {
    return this.call(verb('run'), pathOf('run', { runId }));
  }

  runs(query: { flowId?: string; limit?: number; cursor?: string } = {}): Promise<RunPage> {
    const q = new URLSearchParams();
    if (query.flowId) q.set('flowId', query.flowId);
    if (query.limit) q.set('limit', String(query.limit));
    if (query.cursor) q.set('cursor', query.cursor);
    return this.call(verb('runs'), pathOf('runs', {}, q));
  }

  cancel(runId: string): Promise<{ id: string; status: string }> {
    return this.call(verb('cancel'), pathOf('cancel', { runId }));
  }

  rerun(runId: string): Promise<Rerun> {
    return this.call(verb('rerun'), pathOf('rerun', { runId }));
  }

  logs(runId: string): Promise<string> {
    return this.text(pathOf('logs', { runId }));
  }

  /** The flow, or null when the account has none of this id. */
  async flow(flowId: string): Promise<Flow | null> {
    try {
      return await this.call<Flow>(verb('flow'), pathOf('flow', { flowId }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }

  putFlow(flowId: string, definition: unknown): Promise<Flow> {
    return this.call(verb('putFlow'), pathOf('putFlow', { flowId }), definition);
  }

  /**
   * Follows `/api/v1/batches/{id}/events` (or a run's) until it ends, reconnecting after a dropped
   * connection with Last-Event-ID, so each event is yielded once.
   */
  async *events(kind: 'batches' | 'runs', id: string, signal?: AbortSignal): AsyncGenerator<StreamEvent> {
    let lastId: string | undefined;
    let failures = 0;
    for (;;) {
      let ended = false;
      try {
        const path = kind === 'batches' ? pathOf('batchEvents', { batchId: id }) : pathOf('runEvents', { runId: id });
        const res = await fetch(`${this.baseUrl}${path}`, {
          headers: { 'X-API-Key': this.options.apiKey, Accept: 'text/event-stream', ...(lastId ? { 'Last-Event-ID': lastId } : {}) },
          signal,
        });
        if (!res.ok || !res.body) throw new ApiError(res.status, (await res.json().catch(() => null)) as ApiError['body'], 'GET', path);
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const frame: Partial<StreamEvent> = {};
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) frame.id = line.slice(4);
              else if (line.startsWith('event: ')) frame.event = line.slice(7);
              else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
            }
            if (!frame.event || !frame.id) continue;
            lastId = frame.id;
            failures = 0;
            yield frame as StreamEvent;
            if (frame.event === (kind === 'batches' ? 'batch.finished' : 'run.finished')) ended = true;
          }
        }
      } catch (err) {
        if (err instanceof ApiError && err.status < 500 && err.status !== 429) throw err;
        if (signal?.aborted || ++failures > 20) throw err;
      }
      if (ended) return;
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** failures)));
    }
  }
}
