/**
 * What Temporal stores of the platform's payloads: compressed, then encrypted with AES-256-GCM,
 * so workflow inputs, activity arguments and results (variables, trigger data, step outputs) are
 * small ciphertext in Temporal's history. A codec chain, as Temporal's samples build it:
 * CompressionCodec (zlib, the Go SDK's `binary/zlib` encoding, kept only when smaller) then
 * EncryptionCodec. Each encrypted payload names the key it was sealed with, so keys rotate: the
 * first key of FLOWRUNS_PAYLOAD_KEYS seals, every listed key opens. Payloads written before
 * encryption or compression was turned on pass through unchanged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { PLAIN_TEXT_METADATA } from '../workflows/summaries';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface PayloadKey {
  id: string;
  key: Buffer;
}

/** `id=base64key[,id=base64key…]`, each key 32 bytes; the first one seals. */
export function parsePayloadKeys(spec: string): PayloadKey[] {
  const keys = spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new Error('FLOWRUNS_PAYLOAD_KEYS: expected id=base64key[,id=base64key…]');
      const id = part.slice(0, eq);
      const key = Buffer.from(part.slice(eq + 1), 'base64');
      if (key.length !== 32) throw new Error(`FLOWRUNS_PAYLOAD_KEYS: key ${id} must be 32 bytes (base64), got ${key.length}`);
      return { id, key };
    });
  if (keys.length === 0) throw new Error('FLOWRUNS_PAYLOAD_KEYS is empty');
  return keys;
}

/** A fresh key, in the form FLOWRUNS_PAYLOAD_KEYS takes. */
export const generatePayloadKeys = (id = `k${Date.now().toString(36)}`): string => `${id}=${randomBytes(32).toString('base64')}`;

const text = new TextEncoder();
const untext = new TextDecoder();

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  private readonly sealing: PayloadKey;

  constructor(keys: readonly PayloadKey[]) {
    this.sealing = keys[0];
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // The workflows' and activities' summaries stay readable in Temporal's UI (workflows/summaries.ts).
      if (payload.metadata?.[PLAIN_TEXT_METADATA]) return payload;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.sealing.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: text.encode(ENCRYPTED_ENCODING), [KEY_ID]: text.encode(this.sealing.id) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || untext.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyIdBytes = payload.metadata?.[KEY_ID];
      const keyId = keyIdBytes ? untext.decode(keyIdBytes) : '';
      const key = this.byId.get(keyId);
      if (!key) throw new Error(`payload sealed with key ${keyId || '(none)'}, which FLOWRUNS_PAYLOAD_KEYS does not hold`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

export const COMPRESSED_ENCODING = 'binary/zlib';
/** Smaller payloads are not worth a try: the encoding's own metadata outweighs what zlib saves. */
const COMPRESS_FROM_BYTES = 64;

/** The whole payload (metadata and data) zlib-compressed when that makes it smaller, as the Go SDK's ZlibCodec does. */
export class CompressionCodec implements PayloadCodec {
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      if (plain.length < COMPRESS_FROM_BYTES) return payload;
      const packed = deflateSync(plain, { level: 6 });
      // The wrapper costs its metadata (about 25 bytes): keep the original unless that is won back.
      if (packed.length + 25 >= plain.length) return payload;
      return { metadata: { [METADATA_ENCODING_KEY]: text.encode(COMPRESSED_ENCODING) }, data: packed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || untext.decode(encoding) !== COMPRESSED_ENCODING) return payload;
      return temporal.api.common.v1.Payload.decode(inflateSync(payload.data ?? new Uint8Array()));
    });
  }
}

/**
 * The codecs, in encoding order (decoding runs them backwards): compress, then encrypt when keys
 * are given. Old payloads, encrypted but not compressed or in clear, still decode.
 */
export function payloadCodecsFor(keys: readonly PayloadKey[] | undefined): PayloadCodec[] {
  return keys && keys.length > 0 ? [new CompressionCodec(), new EncryptionCodec(keys)] : [new CompressionCodec()];
}

/** The codec chain as one codec (the codec endpoint of the Temporal UI and CLI). */
export function chainedCodec(codecs: readonly PayloadCodec[]): PayloadCodec {
  return {
    encode: async (payloads) => {
      for (const c of codecs) payloads = await c.encode(payloads);
      return payloads;
    },
    decode: async (payloads) => {
      for (const c of [...codecs].reverse()) payloads = await c.decode(payloads);
      return payloads;
    },
  };
}

/** The data converter for every Temporal client and worker of the platform. */
export const dataConverterFor = (keys: readonly PayloadKey[] | undefined) => ({ payloadCodecs: payloadCodecsFor(keys) });
