/**
 * Traces end to end (SPEC §10 "Tracing"): with OTEL_EXPORTER_OTLP_ENDPOINT set, one run's trace
 * reaches a loopback OTLP/HTTP receiver with spans from the gateway (the trigger's HTTP request),
 * the workflow, the activity and the step's outbound request, all in one trace, carrying the run id.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { startTracing, traceFields, tracing } from '../platform/tracing';
import { runDetailWhenEnded, until, withStack } from './harness';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: { stringValue?: string } }[];
}
const SERVER = 2;
const CLIENT = 3;

/** An OTLP/HTTP receiver (JSON encoding): every span POSTed to /v1/traces. */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const parsed = JSON.parse(body) as { resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[] };
        for (const rs of parsed.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const attr = (s: OtlpSpan, key: string): string | undefined => s.attributes?.find((a) => a.key === key)?.value.stringValue;

let receiver: Awaited<ReturnType<typeof startReceiver>>;

// Registered before withStack, so it runs before the stack starts: the instrumentations patch
// http and undici, the worker bundles the workflow interceptors.
beforeAll(async () => {
  receiver = await startReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  expect(startTracing('test')).toBeDefined();
});

const stack = withStack({ workers: true, stub: () => ({ body: { ok: true } }), app: 'shop' });

// Registered after withStack, so it runs once the stack has stopped.
afterAll(async () => {
  await tracing()?.shutdown();
  await receiver?.close();
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
});

test('when a run is triggered, then one trace holds the trigger request, the workflows, the step activity and its outbound request, with the run id', async () => {
  const flowId = `traced-${Date.now().toString(36)}`;
  expect((await stack.call('POST', '/api/v1/flows', { id: flowId, name: flowId, steps: [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/traced` } }] }, stack.key)).status).toBe(201);
  const trigger = await stack.call('POST', '/api/v1/flows/run', { flow_ids: [flowId], app_id: stack.appId }, stack.key);
  expect(trigger.body).toHaveProperty('batch_id');
  const runId: string = trigger.body.runs[0].id;
  const batchId: string = trigger.body.batch_id;
  expect((await runDetailWhenEnded(stack, runId, stack.key, 60_000)).status).toBe('succeeded');

  const traced = await until('the run\'s spans to reach the receiver', async () => {
    await tracing()!.flush();
    const triggerSpan = receiver.spans.find((s) => s.kind === SERVER && attr(s, 'flowruns.run_id') === runId);
    if (!triggerSpan) return undefined;
    const trace = receiver.spans.filter((s) => s.traceId === triggerSpan.traceId);
    const outbound = trace.find((s) => s.kind === CLIENT && attr(s, 'flowruns.run_id') === runId && (attr(s, 'url.full') ?? attr(s, 'http.url') ?? '').endsWith('/traced'));
    const activity = trace.find((s) => s.name === 'RunActivity:executeStep' && attr(s, 'flowruns.run_id') === runId);
    const workflow = trace.find((s) => s.name === 'RunWorkflow:flowRun' && attr(s, 'flowruns.run_id') === runId);
    const batch = trace.find((s) => s.name === 'RunWorkflow:batchRun');
    return outbound && activity && workflow && batch ? { triggerSpan, outbound, activity, workflow, batch } : undefined;
  }).catch((err: unknown) => {
    // What did arrive, to tell which link of the chain is missing.
    const seen = receiver.spans.map((s) => `${s.traceId.slice(0, 8)} ${s.kind} ${s.name} ${JSON.stringify(Object.fromEntries((s.attributes ?? []).filter((a) => a.key.startsWith('flowruns')).map((a) => [a.key, a.value.stringValue])))}`);
    throw new Error(`${(err as Error).message}; spans received:\n${seen.join('\n')}`);
  });
  expect(attr(traced.triggerSpan, 'flowruns.batch_id')).toBe(batchId);
  expect(attr(traced.workflow, 'flowruns.batch_id')).toBe(batchId);
  expect(attr(traced.batch, 'flowruns.batch_id')).toBe(batchId);
  expect(new Set([traced.triggerSpan, traced.outbound, traced.activity, traced.workflow, traced.batch].map((s) => s.traceId)).size).toBe(1);
});

test('when a log line is written inside a span, then it carries the trace and span ids', () => {
  expect(traceFields()).toEqual({});
  trace.getTracer('test').startActiveSpan('logged', (span) => {
    expect(traceFields()).toEqual({ trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
    span.end();
  });
});
