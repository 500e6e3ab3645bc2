/**
 * Completion webhooks: who is told when a run or a batch finishes. Pure: the workflows import it.
 * The POST body is `{ event, batch_id, run_id?, status, error?, links }`, sent as Standard Webhooks
 * (https://www.standardwebhooks.com): `webhook-id` (the same on every retry of a delivery),
 * `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature` (space-separated
 * `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one for each of the account's signing secrets).
 */
import type { RunStatus } from './statuses';

export const WEBHOOK_EVENTS = ['failed', 'succeeded', 'finished'] as const;
export type WebhookOn = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookTarget {
  url: string;
  /** `failed` (failed or timed out), `succeeded`, `finished` (any end, cancelled included). */
  on: WebhookOn[];
}

/** The Standard Webhooks headers of every delivery. */
export const WEBHOOK_HEADERS = { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' } as const;
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

/**
 * The `webhook-id` of one delivery: the notifying workflow's id (one per run or batch outcome) and
 * the target's position, so every retry of the delivery, and a replay of the workflow, carries the same.
 */
export const webhookId = (workflowId: string, target: number): string => `msg_${workflowId}_${target}`;
