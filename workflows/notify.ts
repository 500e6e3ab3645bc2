/**
 * Delivers a finished run's or batch's webhooks. Started as an abandoned child, so a slow or dead
 * receiver never holds up the run, its batch or the next run in line.
 */
import { CancellationScope, ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { WebhookDelivery } from '../activities/webhooks';
import type { createWebhookActivities } from '../activities/webhooks';
import type { RunStatus } from '../domain/statuses';
import { wants, WEBHOOK_ATTEMPTS, webhookId, type WebhookEvent, type WebhookTarget } from '../domain/webhooks';

const { deliverWebhook } = proxyActivities<ReturnType<typeof createWebhookActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: WEBHOOK_ATTEMPTS, initialInterval: '2 seconds', backoffCoefficient: 2 },
});

export async function notifyWebhooks(deliveries: WebhookDelivery[]): Promise<void> {
  // A receiver that never answers is logged by the activity and given up on; nothing else fails.
  await Promise.all(deliveries.map((d) => deliverWebhook(d).catch(() => undefined)));
}

/** Starts `notifyWebhooks` for the targets that want this outcome (none: nothing is started). */
export async function notify(workflowId: string, accountId: string, logRunId: string, targets: WebhookTarget[] | undefined, event: WebhookEvent): Promise<void> {
  const deliveries = (targets ?? []).flatMap((t, i): WebhookDelivery[] =>
    wants(t, event.status) ? [{ accountId, url: t.url, logRunId, event, id: webhookId(workflowId, i) }] : [],
  );
  if (deliveries.length === 0) return;
  await CancellationScope.nonCancellable(() => startChild(notifyWebhooks, { workflowId, args: [deliveries], parentClosePolicy: ParentClosePolicy.ABANDON }));
}

/** A batch's outcome from its runs': failed if any failed or timed out, else cancelled if any was, else succeeded. */
export function batchOutcome(statuses: RunStatus[]): RunStatus {
  if (statuses.some((s) => s === 'failed' || s === 'timed_out')) return 'failed';
  return statuses.some((s) => s === 'cancelled') ? 'cancelled' : 'succeeded';
}
