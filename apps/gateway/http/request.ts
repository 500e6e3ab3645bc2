/** Request parts several surfaces read the same way: the `Idempotency-Key` header, and JSONL replies. */
import type { Request, Response } from 'express';
import { HttpError, badRequest } from './errors';

const LOC = ['header', 'Idempotency-Key'];

/**
 * The trigger's idempotency from the `Idempotency-Key` header: the key, and the request it came
 * with (path and body as sent), which a replay must repeat. `status` 422 answers a bad key the
 * way a contract that answers every client mistake 422 does.
 */
export function idempotencyOf(req: Request, status: 400 | 422 = 400): { key: string; request: unknown } | undefined {
  const key = req.get('Idempotency-Key');
  if (key === undefined) return undefined;
  if (key.length < 1 || key.length > 255) {
    const message = 'Idempotency-Key must be 1 to 255 characters';
    throw status === 400
      ? badRequest(message, LOC)
      : new HttpError(422, message, [{ loc: LOC, msg: 'must be 1 to 255 characters', type: 'string_too_long' }]);
  }
  return { key, request: { path: req.path, body: req.body as unknown } };
}

/** Writes JSONL chunk by chunk; a failure after the first byte can only cut the stream short. */
export async function sendJsonl(res: Response, lines: AsyncIterable<string>): Promise<undefined> {
  res.status(200).type('application/x-ndjson');
  try {
    for await (const chunk of lines) if (!res.write(chunk)) await new Promise((ok) => res.once('drain', ok));
    res.end();
  } catch (err) {
    if (!res.headersSent) throw err;
    res.destroy(err as Error);
  }
  return undefined;
}
