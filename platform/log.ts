/**
 * Structured logs: one JSON object per line (pino) with the ids that matter — `runId`, `batchId`,
 * `accountId`, `stepId` — so a log store can follow a run across the gateway and the workers.
 * LOG_LEVEL sets the level (INFO by default; `npm run dev` keeps its own readable lines).
 */
import pino from 'pino';
import { traceFields } from './tracing';

export const logger = pino({
  level: (process.env.LOG_LEVEL ?? 'INFO').toLowerCase(),
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
  // trace_id and span_id of the active span when tracing is on (platform/tracing.ts).
  mixin: traceFields,
});

export const gatewayLog = logger.child({ component: 'gateway' });
export const workerLog = logger.child({ component: 'worker' });

/** Run and batch ids from a Temporal workflow id (`run-<id>`, `batch-<id>`). */
export function idsOfWorkflow(workflowId: unknown): { runId?: string; batchId?: string } {
  if (typeof workflowId !== 'string') return {};
  if (workflowId.startsWith('run-')) return { runId: workflowId.slice(4) };
  if (workflowId.startsWith('batch-')) return { batchId: workflowId.slice(6) };
  return {};
}
