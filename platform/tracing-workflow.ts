/**
 * Workflow interceptors of the bundle when tracing is on (platform/tracing.ts), after
 * `@temporalio/interceptors-opentelemetry`'s: inside its spans (a workflow's run, each activity
 * and child workflow it starts) they add the run and batch ids. Sets attributes only: no command,
 * no timer, nothing a replay could tell apart.
 */
import { trace } from '@opentelemetry/api';
import { workflowInfo, type WorkflowInterceptors } from '@temporalio/workflow';
import { BATCH_ID } from '../workflows/search-attributes';

function annotate(): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  const info = workflowInfo();
  const batchId = info.typedSearchAttributes.get(BATCH_ID);
  const id = info.workflowId;
  if (id.startsWith('run-')) span.setAttribute('flowruns.run_id', id.slice(4));
  if (batchId) span.setAttribute('flowruns.batch_id', batchId);
  else if (id.startsWith('batch-')) span.setAttribute('flowruns.batch_id', id.slice(6).replace(/-chunk-\d+$/, ''));
}

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [
    {
      execute: (input, next) => {
        annotate();
        return next(input);
      },
    },
  ],
  outbound: [
    {
      scheduleActivity: (input, next) => {
        annotate();
        return next(input);
      },
      startChildWorkflowExecution: (input, next) => {
        annotate();
        return next(input);
      },
    },
  ],
});
