/** Sending the files a run left (screenshots, diff images, rendered pages, traces) so that they stay inert. */
import type { Response } from 'express';

/** Types a browser shows as they are and never runs; every other file is sandboxed and downloaded. */
const INLINE_TYPES = /^\s*(image\/(png|jpeg|gif|webp)|application\/json)\s*(;|$)/i;

/**
 * A run's file, on the gateway's own origin: never sniffed, and anything but a plain image or
 * JSON (a scan's `page.html`, a trace) gets `Content-Security-Policy: sandbox` (no script, an
 * opaque origin) and `Content-Disposition: attachment`, so a page a tenant's flow rendered cannot
 * run as the gateway (SPEC §10 Artifacts).
 */
export function sendRunFile(res: Response, name: string, contentType: string, data: Buffer): void {
  res.status(200).set({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'private, max-age=60' });
  if (!INLINE_TYPES.test(contentType)) res.attachment(name).set('Content-Security-Policy', 'sandbox');
  res.type(contentType).end(data);
}
