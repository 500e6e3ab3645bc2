/**
 * Ids derived from other ids, so a retry or a second reader arrives at the same one. Node only:
 * workflows must not import this file (they receive derived ids from activities or the gateway).
 */
import { createHash } from 'node:crypto';

/** A UUID-shaped id (version 5 layout) determined by `parts`. */
export function derivedId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\n')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The batch a schedule's firing starts: derived from the firing's workflow id (Temporal appends the fire time). */
export const scheduledBatchId = (firingWorkflowId: string): string => derivedId('schedule-firing', firingWorkflowId);
