/**
 * The remote codec endpoint of Temporal's UI and CLI (`temporal … --codec-endpoint <gateway>/api/v1/codec`):
 * `POST /api/v1/codec/decode` opens the platform's encrypted payloads, `/encode` seals plain ones,
 * both with the workers' codec chain (compression, then encryption with FLOWRUNS_PAYLOAD_KEYS). Payloads travel as proto3 JSON
 * (`{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`). Decoding opens every account's
 * data, so only the admin key may call it; browsers of FLOWRUNS_CODEC_CORS_ORIGINS may (cors.ts).
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { chainedCodec, payloadCodecsFor } from '../../../platform/payload-codec';
import type { GatewayDeps } from '../deps';
import { badRequest } from '../http/errors';
import { defineRoute, type AnyRoute } from '../http/route';

export const CODEC_PATH = '/api/v1/codec';
const TAG = 'Operations';
const MAX_PAYLOADS = 1000;

/** Protobuf's JSON form of bytes: standard or URL-safe base64, padded or not. */
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');

const jsonPayloadSchema = z.object({
  metadata: z.record(z.string(), base64).nullish(),
  data: base64.nullish(),
});

const payloadsBody = z.object({ payloads: z.array(jsonPayloadSchema).max(MAX_PAYLOADS).default([]) });

const payloadsResponse = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()), data: z.string() })),
});
type JsonPayloads = z.infer<typeof payloadsResponse>;

const bytes = (s: string | null | undefined): Uint8Array => Buffer.from(s ?? '', 'base64');
const b64 = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? new Uint8Array()).toString('base64');

function fromJson(p: z.infer<typeof jsonPayloadSchema>): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, bytes(v)])),
    data: bytes(p.data),
  };
}

const toJson = (p: Payload): JsonPayloads['payloads'][number] => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
  data: b64(p.data),
});

/** Without keys (FLOWRUNS_PAYLOAD_ENCRYPTION=off) the chain only compresses and inflates. */

export function codecRoutes({ config }: GatewayDeps): AnyRoute[] {
  // The workers' chain: decode opens and inflates (old payloads, sealed but not compressed, too); encode compresses and seals.
  const codec: PayloadCodec = chainedCodec(payloadCodecsFor(config.payloadKeys));

  /** One payload at a time, so a payload the keys cannot open is named by its index. */
  const apply = async (direction: 'encode' | 'decode', body: z.infer<typeof payloadsBody>): Promise<JsonPayloads> => {
    const out: Payload[] = [];
    for (const [i, p] of body.payloads.entries()) {
      try {
        out.push(...(await codec[direction]([fromJson(p)])));
      } catch (err) {
        throw badRequest(`payload ${i} could not be ${direction}d: ${(err as Error).message}`, ['body', 'payloads', i], 'codec_error');
      }
    }
    return { payloads: out.map(toJson) };
  };

  return (['decode', 'encode'] as const).map((direction) =>
    defineRoute({
      method: 'post',
      path: `${CODEC_PATH}/${direction}`,
      summary:
        direction === 'decode'
          ? "Temporal remote codec: decrypt and decompress payloads of the platform's workflow histories (admin key; for the Temporal UI and `temporal --codec-endpoint`)"
          : 'Temporal remote codec: compress and encrypt payloads with the platform key (admin key)',
      tag: TAG,
      auth: 'admin',
      body: payloadsBody,
      response: payloadsResponse,
      handler: ({ body }) => apply(direction, body),
    }),
  );
}
