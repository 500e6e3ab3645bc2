/**
 * Delivers completion webhooks as Standard Webhooks: one POST per target and event, signed with the
 * account's webhook secrets by the `standardwebhooks` library, through the same egress policy as
 * http steps; each attempt is written to the log of the run it is about (a batch's, to its first
 * run). Retried by Temporal with backoff (workflows/notify.ts); every attempt carries the delivery's
 * `webhook-id` and its own `webhook-timestamp`, so a receiver can drop duplicates and stale replays.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { Webhook } from 'standardwebhooks';
import type { DataSource } from 'typeorm';
import { Projections } from '../db/projections';
import { webhookSigningSecrets } from '../db/webhook-secrets';
import { WEBHOOK_ATTEMPTS, WEBHOOK_HEADERS, type WebhookEvent } from '../domain/webhooks';

export interface WebhookDelivery {
  accountId: string;
  url: string;
  event: WebhookEvent;
  /** Internal id of the run whose log records the delivery. */
  logRunId: string;
  /** The delivery's `webhook-id`, the same on every retry; unset in deliveries scheduled before it existed. */
  id?: string;
}

/** The `webhook-signature` of one attempt: a `v1,<base64>` signature with each secret, space-separated. */
export function signDelivery(secrets: string[], id: string, at: Date, body: string): string {
  return secrets.map((secret) => new Webhook(secret).sign(id, at, body)).join(' ');
}

/**
 * A delivery's `links`: `batch` and `run` are the dashboard's pages (`/ui/batches/{id}`,
 * `/ui/runs/{id}`), what a person following the link from a chat message or a CI log can open;
 * `batch_api` and `run_api` the JSON resources (they need a key) for receivers that read them.
 */
export function webhookLinks(publicUrl: string, batchId: string, runId?: string): Record<string, string> {
  const batch = encodeURIComponent(batchId);
  const run = runId ? encodeURIComponent(runId) : undefined;
  return {
    batch: `${publicUrl}/ui/batches/${batch}`,
    batch_api: `${publicUrl}/api/v1/runs/status?batch_id=${batch}`,
    ...(run ? { run: `${publicUrl}/ui/runs/${run}`, run_api: `${publicUrl}/api/v1/runs/${run}` } : {}),
  };
}

/** Where the links in a webhook point: the gateway's public URL. */
export function createWebhookActivities(deps: { dataSource: DataSource; fetch: typeof globalThis.fetch; publicUrl: string }) {
  const projections = new Projections(deps.dataSource);
  return {
    async deliverWebhook(d: WebhookDelivery): Promise<void> {
      const { attempt, activityId, workflowExecution } = Context.current().info;
      // A delivery scheduled before ids existed: its activity's identity is as stable across retries.
      const id = d.id ?? `msg_${workflowExecution?.workflowId ?? 'activity'}_activity${activityId}`;
      const links = webhookLinks(deps.publicUrl, d.event.batch_id, d.event.run_id);
      const body = JSON.stringify({ ...d.event, links });
      const at = new Date();
      const signature = signDelivery(await webhookSigningSecrets(deps.dataSource, d.accountId), id, at, body);
      const what = `webhook ${d.event.event} to ${d.url}`;
      const log = (level: 'info' | 'warn' | 'error', message: string) =>
        projections.log(d.logRunId, [{ key: `webhook.${d.event.event}.${d.url}.attempt.${attempt}`, level, message }]);
      let failure: string;
      try {
        const res = await deps.fetch(d.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [WEBHOOK_HEADERS.id]: id,
            [WEBHOOK_HEADERS.timestamp]: String(Math.floor(at.getTime() / 1000)),
            [WEBHOOK_HEADERS.signature]: signature,
            'user-agent': 'flow-runs-webhooks',
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(10_000)]),
        });
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) {
          await log('info', `${what}: delivered (HTTP ${res.status}, attempt ${attempt})`);
          return;
        }
        failure = `HTTP ${res.status}`;
      } catch (err) {
        failure = (err as Error).message;
      }
      const last = attempt >= WEBHOOK_ATTEMPTS;
      await log(last ? 'error' : 'warn', `${what}: attempt ${attempt} of ${WEBHOOK_ATTEMPTS} failed (${failure})${last ? '; giving up' : '; retrying'}`);
      throw ApplicationFailure.retryable(`${what} failed: ${failure}`, 'WebhookFailed');
    },
  };
}
