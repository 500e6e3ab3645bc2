/**
 * CORS for the codec endpoint, so the Temporal UI (another origin) can call it from the browser.
 * Only origins in FLOWRUNS_CODEC_CORS_ORIGINS get the headers; the preflight is answered here,
 * before authentication (a browser sends it without credentials). The request itself still
 * needs the admin key.
 */
import express, { type RequestHandler } from 'express';

const ALLOW_HEADERS = 'authorization, content-type, x-namespace, x-api-key';
/** Payloads reach 2 MB each in Temporal; a request carries a few. */
export const CODEC_BODY_LIMIT = '8mb';

export function codecCors(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.get('origin');
    if (!origin || !allowed.has(origin)) return next();
    res.set({ 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true' });
    res.vary('Origin');
    if (req.method !== 'OPTIONS') return next();
    res
      .status(204)
      .set({
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Max-Age': '600',
      })
      .end();
  };
}

/** The codec's JSON body parser: larger than the API's, since payloads carry whole workflow inputs. */
export const codecBodyParser = (): RequestHandler => express.json({ limit: CODEC_BODY_LIMIT, strict: true });
