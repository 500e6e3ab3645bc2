/**
 * OpenTelemetry traces, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set: spans go over OTLP/HTTP
 * (JSON) to `<endpoint>/v1/traces`. One trace follows a trigger from the gateway's HTTP request
 * (http, Express and pg instrumentations) through Temporal's client, the batch and flow-run
 * workflows and their activities (`@temporalio/interceptors-opentelemetry`, context carried in
 * Temporal headers) to each step's outbound request (undici, the http steps' fetch; http for the
 * rest). Spans about a run carry `flowruns.run_id` and `flowruns.batch_id`; pino lines carry
 * `trace_id` and `span_id` (platform/log.ts).
 *
 * Off, nothing of the OpenTelemetry SDK is loaded: every `require` of it is inside `startTracing`,
 * and the other exports answer from a variable that stays undefined.
 *
 * Instrumentations patch modules as they are loaded, so an entry point starts tracing before it
 * imports Express or pg: `import '../../platform/tracing-start'` first (apps/gateway/main.ts,
 * apps/worker/main.ts).
 */
import type * as otel from '@opentelemetry/api';
import type * as activityApi from '@temporalio/activity';
import type * as sdkTraceNode from '@opentelemetry/sdk-trace-node';
import type * as otlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as resources from '@opentelemetry/resources';
import type * as instrumentation from '@opentelemetry/instrumentation';
import type * as instrHttp from '@opentelemetry/instrumentation-http';
import type * as instrExpress from '@opentelemetry/instrumentation-express';
import type * as instrPg from '@opentelemetry/instrumentation-pg';
import type * as instrUndici from '@opentelemetry/instrumentation-undici';
import type * as temporalOtelTypes from '@temporalio/interceptors-opentelemetry';
import type * as otelCore from '@opentelemetry/core';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';

export const RUN_ID_ATTR = 'flowruns.run_id';
export const BATCH_ID_ATTR = 'flowruns.batch_id';

export interface Tracing {
  /** For every Temporal client of the process: a workflow start or signal carries the caller's span. */
  clientInterceptors: { workflow: WorkflowClientInterceptor[] };
  /** For every worker: activity spans (continuing the workflow's) and the sink that exports the workflows' own spans. */
  worker: { interceptors: WorkerInterceptors; sinks: InjectedSinks<never> };
  /** For the workflow bundle (apps/worker/bundle.ts): the modules whose interceptors make the workflows' spans. */
  workflowInterceptorModules: string[];
  /** Exports what is buffered (a test reads it; a process exits after it). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

let current: { tracing: Tracing; api: typeof otel; requestSpan: () => otel.Span | undefined } | undefined;

/** Run and batch ids from a Temporal workflow id (`run-<id>`, `batch-<id>[-chunk-<n>]`). */
export function runAttributes(workflowId: string, batchId?: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  if (workflowId.startsWith('run-')) attrs[RUN_ID_ATTR] = workflowId.slice(4);
  else if (workflowId.startsWith('batch-')) attrs[BATCH_ID_ATTR] = workflowId.slice(6).replace(/-chunk-\d+$/, '');
  if (batchId) attrs[BATCH_ID_ATTR] = batchId;
  return attrs;
}

/** The ids of the activity running in this async context, if any. */
function activityAttributes(): Record<string, string> {
  // Loaded already wherever an activity runs; a process without activities never calls this with tracing on.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Context } = require('@temporalio/activity') as typeof activityApi;
  try {
    const info = Context.current().info;
    return info.workflowExecution ? runAttributes(info.workflowExecution.workflowId) : {};
  } catch {
    return {};
  }
}

/** The service name: OTEL_SERVICE_NAME, else `flowruns-<role>`. */
const serviceName = (role: string, env: NodeJS.ProcessEnv): string => env.OTEL_SERVICE_NAME ?? `flowruns-${role}`;

/**
 * Starts tracing for this process when OTEL_EXPORTER_OTLP_ENDPOINT is set (once; later calls
 * return the same). `role` names the service (`gateway`, `worker`, `dev`).
 */
export function startTracing(role: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (current) return current.tracing;
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when tracing is on */
  const api = require('@opentelemetry/api') as typeof otel;
  const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node') as typeof sdkTraceNode;
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof otlpHttp;
  const { Resource } = require('@opentelemetry/resources') as typeof resources;
  const { registerInstrumentations } = require('@opentelemetry/instrumentation') as typeof instrumentation;
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof instrHttp;
  const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express') as typeof instrExpress;
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof instrPg;
  const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici') as typeof instrUndici;
  const temporalOtel = require('@temporalio/interceptors-opentelemetry') as typeof temporalOtelTypes;
  /* eslint-enable @typescript-eslint/no-require-imports */

  const resource = new Resource({ 'service.name': serviceName(role, env) });
  const processor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  const exportHost = new URL(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT).host;
  const httpInstrumentation = new HttpInstrumentation({
    // The exporter's own requests are not traced (it suppresses them too).
    ignoreOutgoingRequestHook: (req) => `${req.hostname ?? req.host ?? ''}:${req.port ?? ''}`.startsWith(exportHost),
    startOutgoingSpanHook: () => activityAttributes(),
  });
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      httpInstrumentation,
      new ExpressInstrumentation(),
      new PgInstrumentation({ requireParentSpan: true }),
      new UndiciInstrumentation({ startSpanHook: () => activityAttributes() }),
    ],
  });
  // The hooks patch a module as it is required through Node's loader; one loaded before, or through
  // another loader (a test runner's registry), is patched here as it is (patching twice unwraps first).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const httpModules = httpInstrumentation.getModuleDefinitions().map((def) => ({ def, exports: require(def.name) as object }));
  for (const { def, exports } of httpModules) def.patch?.(exports, undefined);

  const tracing: Tracing = {
    clientInterceptors: { workflow: [new temporalOtel.OpenTelemetryWorkflowClientInterceptor()] },
    worker: {
      interceptors: {
        activity: [
          (ctx) => ({
            inbound: new temporalOtel.OpenTelemetryActivityInboundInterceptor(ctx),
            outbound: new temporalOtel.OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
          (ctx) => ({
            inbound: {
              // Inside the activity's span (the interceptor above is the outer one).
              execute: (input, next) => {
                const workflowId = ctx.info.workflowExecution?.workflowId;
                if (workflowId) api.trace.getActiveSpan()?.setAttributes(runAttributes(workflowId));
                return next(input);
              },
            },
          }),
        ],
      },
      sinks: { exporter: temporalOtel.makeWorkflowExporter(processor, resource) } as InjectedSinks<never>,
    },
    workflowInterceptorModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'), require.resolve('./tracing-workflow')],
    flush: () => provider.forceFlush(),
    // Everything undone, the patches too: nothing of it runs in the process afterwards (a test runner's next file).
    shutdown: async () => {
      unregister();
      for (const { def, exports } of httpModules) def.unpatch?.(exports, undefined);
      await provider.shutdown();
      api.trace.disable();
      api.context.disable();
      api.propagation.disable();
      current = undefined;
    },
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { getRPCMetadata } = require('@opentelemetry/core') as typeof otelCore;
  current = { tracing, api, requestSpan: () => getRPCMetadata(api.context.active())?.span };
  return tracing;
}

/** The started tracing, if any. */
export const tracing = (): Tracing | undefined => current?.tracing;

/**
 * Adds attributes to the active span and to the HTTP request's own (server) span around it (a
 * trigger's request: its batch and run ids); nothing when tracing is off.
 */
export function annotateSpan(attributes: Record<string, string | string[]>): void {
  if (!current) return;
  current.api.trace.getActiveSpan()?.setAttributes(attributes);
  current.requestSpan()?.setAttributes(attributes);
}

/** `trace_id` and `span_id` of the active span, for log lines; empty when tracing is off or no span is active. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = current?.api.trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
