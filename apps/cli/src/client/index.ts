/**
 * A small typed client for the Flow Runs API, used by the `flowruns` CLI and the tests, shipped in
 * `@flowruns/cli`. Its types are generated from the gateway's own response schemas (the zod
 * schemas the OpenAPI document is generated from: src/generated/api-types.ts, kept fresh by a
 * unit test), so the client and the document cannot drift apart; test/client.test.ts checks that
 * every path it calls is in the served document.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { BatchStatus, Flow, Rerun, RunDetail, RunPage, Schedule, ScheduleInput, Suite, SuiteInput, TriggerBody, TriggeredBatch } from '../generated/api-types';

export type { BatchStatus, Flow, Rerun, RunDetail, RunPage, Schedule, ScheduleInput, Suite, SuiteInput, TriggerBody, TriggeredBatch };

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
  flows: ['get', '/api/v1/flows'],
  deleteFlow: ['delete', '/api/v1/flows/{flowId}'],
  suite: ['get', '/api/v1/suites/{suiteId}'],
  createSuite: ['post', '/api/v1/suites'],
  putSuite: ['put', '/api/v1/suites/{suiteId}'],
  schedule: ['get', '/api/v1/schedules/{id}'],
  putSchedule: ['put', '/api/v1/schedules/{id}'],
  batchCancel: ['post', '/api/v1/batches/{batchId}/cancel'],
  batchRerun: ['post', '/api/v1/batches/{batchId}/rerun'],
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

/** A lookup's result, or null on 404. */
async function orNull<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
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
  flow(flowId: string): Promise<Flow | null> {
    return orNull(this.call<Flow>(verb('flow'), pathOf('flow', { flowId })));
  }

  putFlow(flowId: string, definition: unknown): Promise<Flow> {
    return this.call(verb('putFlow'), pathOf('putFlow', { flowId }), definition);
  }

  /** Every flow of the account (all pages). */
  async allFlows(): Promise<Flow[]> {
    const all: Flow[] = [];
    let cursor: string | null = null;
    do {
      const q = new URLSearchParams({ limit: '100', ...(cursor ? { cursor } : {}) });
      const page: { data: Flow[]; cursor: string | null; hasMore: boolean } = await this.call(verb('flows'), pathOf('flows', {}, q));
      all.push(...page.data);
      cursor = page.hasMore ? page.cursor : null;
    } while (cursor);
    return all;
  }

  deleteFlow(flowId: string): Promise<void> {
    return this.call(verb('deleteFlow'), pathOf('deleteFlow', { flowId }));
  }

  /** The suite, or null when the account has none of this id. */
  suite(suiteId: string): Promise<Suite | null> {
    return orNull(this.call<Suite>(verb('suite'), pathOf('suite', { suiteId })));
  }

  /** Creates the suite with this id, or replaces it. */
  async putSuite(suiteId: string, body: SuiteInput, exists: boolean): Promise<Suite> {
    if (exists) return this.call(verb('putSuite'), pathOf('putSuite', { suiteId }), { ...body, id: suiteId });
    return this.call(verb('createSuite'), pathOf('createSuite'), { ...body, id: suiteId });
  }

  /** The schedule, or null when the account has none of this id. */
  schedule(id: string): Promise<Schedule | null> {
    return orNull(this.call<Schedule>(verb('schedule'), pathOf('schedule', { id })));
  }

  /** Creates or replaces the schedule. */
  putSchedule(id: string, body: ScheduleInput): Promise<Schedule> {
    return this.call(verb('putSchedule'), pathOf('putSchedule', { id }), { ...body, id });
  }

  cancelBatch(batchId: string): Promise<{ id: string; status: string }> {
    return this.call(verb('batchCancel'), pathOf('batchCancel', { batchId }));
  }

  /** A new batch of the batch's failed, cancelled and timed-out runs (`failed`), or all of them. */
  rerunBatch(batchId: string, only: 'failed' | 'all'): Promise<Rerun> {
    return this.call(verb('batchRerun'), pathOf('batchRerun', { batchId }), { only });
  }

  /** A file the API serves (an artifact URL, absolute or a path), as bytes. */
  async download(url: string): Promise<Uint8Array> {
    const target = /^https?:/i.test(url) ? url : `${this.baseUrl}${url}`;
    const res = await fetch(target, { headers: { 'X-API-Key': this.options.apiKey }, signal: AbortSignal.timeout(this.options.timeoutMs ?? 60_000) });
    if (!res.ok) throw new ApiError(res.status, parseJson(await res.text()), 'GET', new URL(target).pathname);
    return new Uint8Array(await res.arrayBuffer());
  }

  /**
   * Follows `/api/v1/batches/{id}/events` (or a run's) until it ends, reconnecting after a dropped
   * connection with Last-Event-ID, so each event is yielded once. Frames are parsed by
   * eventsource-parser: multi-line `data:` fields, comments and CRLF as the SSE standard has them.
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
        const frames: EventSourceMessage[] = [];
        const parser = createParser({ onEvent: (m) => frames.push(m) });
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          parser.feed(decoder.decode(chunk, { stream: true }));
          for (const m of frames.splice(0)) {
            if (!m.event || !m.id) continue;
            lastId = m.id;
            failures = 0;
            yield { id: m.id, event: m.event, data: JSON.parse(m.data) as StreamEvent['data'] };
            if (m.event === (kind === 'batches' ? 'batch.finished' : 'run.finished')) {
              ended = true;
              break;
            }
          }
          if (ended) break;
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
