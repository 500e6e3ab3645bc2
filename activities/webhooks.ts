/**
 * Delivers completion webhooks: one POST per target and event, signed with the account's webhook
 * secret, through the same egress policy as http steps; each attempt is written to the log of the
 * run it is about (a batch's, to its first run). Retried by Temporal with backoff (workflows/notify.ts).
 */
import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import { webhookSecret } from '../db/data-source';
import { Projections } from '../db/projections';
import { SIGNATURE_HEADER, WEBHOOK_ATTEMPTS, type WebhookEvent } from '../domain/webhooks';

export interface WebhookDelivery {
  accountId: string;
  url: string;
  event: WebhookEvent;
  /** Internal id of the run whose log records the delivery. */
  logRunId: string;
}

/** Where the links in a webhook point: the gateway's public URL. */
export function createWebhookActivities(deps: { dataSource: DataSource; fetch: typeof globalThis.fetch; publicUrl: string }) {
  const projections = new Projections(deps.dataSource);
  return {
    async deliverWebhook(d: WebhookDelivery): Promise<void> {
      const { attempt } = Context.current().info;
      const links = {
        batch: `${deps.publicUrl}/api/v1/runs/status?batch_id=${encodeURIComponent(d.event.batch_id)}`,
        ...(d.event.run_id ? { run: `${deps.publicUrl}/api/v1/runs/${encodeURIComponent(d.event.run_id)}` } : {}),
      };
      const body = JSON.stringify({ ...d.event, links });
      const signature = createHmac('sha256', await webhookSecret(deps.dataSource, d.accountId)).update(body).digest('hex');
      const what = `webhook ${d.event.event} to ${d.url}`;
      const log = (level: 'info' | 'warn' | 'error', message: string) =>
        projections.log(d.logRunId, [{ key: `webhook.${d.event.event}.${d.url}.attempt.${attempt}`, level, message }]);
      let failure: string;
      try {
        const res = await deps.fetch(d.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: `sha256=${signature}`, 'user-agent': 'flow-runs-webhooks' },
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
