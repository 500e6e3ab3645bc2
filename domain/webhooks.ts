/**
 * Completion webhooks: who is told when a run or a batch finishes. Pure: the workflows import it.
 * The POST body is `{ event, batch_id, run_id?, status, error?, links }`, signed with
 * `X-FlowRuns-Signature: sha256=<hex HMAC-SHA256 of the body>` keyed by the account's webhook secret.
 */
import type { RunStatus } from './statuses';

export const WEBHOOK_EVENTS = ['failed', 'succeeded', 'finished'] as const;
export type WebhookOn = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookTarget {
  url: string;
  /** `failed` (failed or timed out), `succeeded`, `finished` (any end, cancelled included). */
  on: WebhookOn[];
}

export const SIGNATURE_HEADER = 'X-FlowRuns-Signature';
/** Deliveries are tried this many times, with backoff from 2 s, then given up and logged. */
export const WEBHOOK_ATTEMPTS = 6;

export interface WebhookEvent {
  event: 'run.finished' | 'batch.finished';
  batch_id: string;
  run_id?: string;
  status: RunStatus;
  error?: { step: string; message: string } | null;
}

export function wants(target: WebhookTarget, status: RunStatus): boolean {
  return target.on.some((on) => on === 'finished' || (on === 'succeeded' && status === 'succeeded') || (on === 'failed' && (status === 'failed' || status === 'timed_out')));
}
