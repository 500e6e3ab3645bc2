/**
 * What Temporal stores of the platform's payloads: compressed, then encrypted with AES-256-GCM,
 * so workflow inputs, activity arguments and results (variables, trigger data, step outputs) are
 * small ciphertext in Temporal's history.
 *
 * With keys, one codec seals a payload in the compact format `binary/sealed`: the metadata is that
 * encoding alone, the data is `[1][key id length][key id][IV][ciphertext][tag]`, the plaintext a
 * flags byte and then either the payload's JSON (a `json/plain` payload: its metadata goes without
 * saying) or the whole payload, raw-deflated when that is smaller. A dozen payloads make a run, so
 * the framing counts: about 45 bytes against the former chain's 110. `binary/null` payloads (no
 * data, nothing to hide) stay as they are. Each sealed payload names its key, so keys rotate: the
 * first key of FLOWRUNS_PAYLOAD_KEYS seals, every listed key opens.
 *
 * Still read, never written with keys: the former chain (CompressionCodec, the Go SDK's
 * `binary/zlib`, then `binary/encrypted` with the key id in its metadata, as Temporal's samples
 * build it), and payloads written before encryption or compression was turned on. Without keys
 * the CompressionCodec alone applies.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deflateRawSync, deflateSync, inflateRawSync, inflateSync } from 'node:zlib';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { PLAIN_TEXT_METADATA } from '../workflows/summaries';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const SEALED_ENCODING = 'binary/sealed';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The sealed format's version, its data's first byte. */
const SEALED_V1 = 1;
/** Flags, the plaintext's first byte: the body is deflated; the body is a json/plain payload's data. */
const DEFLATED = 1;
const JSON_ONLY = 2;
const JSON_PLAIN = 'json/plain';
const NULL_ENCODING = 'binary/null';
/** Smaller payloads are not worth a try: what zlib saves is outweighed by its framing. */
const COMPRESS_FROM_BYTES = 64;

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
      if (Buffer.byteLength(id) > 255) throw new Error(`FLOWRUNS_PAYLOAD_KEYS: key id ${id.slice(0, 20)}… is longer than 255 bytes`);
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
const SEALED_ENCODING_BYTES = text.encode(SEALED_ENCODING);
const JSON_PLAIN_BYTES = text.encode(JSON_PLAIN);
/** A payload inflates to at most this (Temporal's own payload limit is 2 MB; a forged deflate bomb stops here). */
const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

const encodingOf = (payload: Payload): string | undefined => {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  return encoding ? untext.decode(encoding) : undefined;
};

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  private readonly sealing: PayloadKey;
  /** The sealed data's start: format version, key id length, key id. */
  private readonly header: Buffer;

  constructor(keys: readonly PayloadKey[]) {
    this.sealing = keys[0];
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
    const id = Buffer.from(this.sealing.id);
    this.header = Buffer.concat([Uint8Array.of(SEALED_V1, id.length), id]);
  }

  private keyFor(keyId: string): Buffer {
    const key = this.byId.get(keyId);
    if (!key) throw new Error(`payload sealed with key ${keyId || '(none)'}, which FLOWRUNS_PAYLOAD_KEYS does not hold`);
    return key;
  }

  /** AES-256-GCM open of `[IV][ciphertext][tag]`, `header` authenticated with it; throws when either was tampered with. */
  private static open(key: Buffer, data: Buffer, header?: Buffer): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    if (header) decipher.setAAD(header);
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
  }

  /** Opens a `binary/sealed` payload's data. */
  private openSealed(data: Buffer): Payload {
    if (data.length < 2 + IV_BYTES + 1 + TAG_BYTES || data[0] !== SEALED_V1) throw new Error(`a ${SEALED_ENCODING} payload of an unknown version or cut short`);
    const idEnd = 2 + data[1]!;
    const plain = EncryptionCodec.open(this.keyFor(data.subarray(2, idEnd).toString()), data.subarray(idEnd), data.subarray(0, idEnd));
    const flags = plain[0]!;
    const body = flags & DEFLATED ? inflateRawSync(plain.subarray(1), { maxOutputLength: MAX_INFLATED_BYTES }) : plain.subarray(1);
    return flags & JSON_ONLY ? { metadata: { [METADATA_ENCODING_KEY]: JSON_PLAIN_BYTES }, data: body } : temporal.api.common.v1.Payload.decode(body);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // The workflows' and activities' summaries stay readable in Temporal's UI (workflows/summaries.ts).
      if (payload.metadata?.[PLAIN_TEXT_METADATA]) return payload;
      const encoding = encodingOf(payload);
      const keys = Object.keys(payload.metadata ?? {});
      if (encoding === NULL_ENCODING && keys.length === 1 && !payload.data?.length) return payload;
      const jsonOnly = encoding === JSON_PLAIN && keys.length === 1;
      let body: Uint8Array = jsonOnly ? (payload.data ?? new Uint8Array()) : temporal.api.common.v1.Payload.encode(payload).finish();
      let flags = jsonOnly ? JSON_ONLY : 0;
      if (body.length >= COMPRESS_FROM_BYTES) {
        const packed = deflateRawSync(body, { level: 6 });
        if (packed.length < body.length) {
          body = packed;
          flags |= DEFLATED;
        }
      }
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.sealing.key, iv).setAAD(this.header);
      const sealed = Buffer.concat([this.header, iv, cipher.update(Uint8Array.of(flags)), cipher.update(body), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { [METADATA_ENCODING_KEY]: SEALED_ENCODING_BYTES }, data: sealed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = encodingOf(payload);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (encoding === SEALED_ENCODING) return this.openSealed(data);
      if (encoding !== ENCRYPTED_ENCODING) return payload;
      // The former format: the key id in the metadata, the whole payload encrypted.
      const keyIdBytes = payload.metadata?.[KEY_ID];
      const plain = EncryptionCodec.open(this.keyFor(keyIdBytes ? untext.decode(keyIdBytes) : ''), data);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

export const COMPRESSED_ENCODING = 'binary/zlib';

/**
 * The whole payload (metadata and data) zlib-compressed when that makes it smaller, as the Go SDK's
 * ZlibCodec does. `decodeOnly`: with keys the sealed format compresses, and this codec only reads
 * the payloads of the former chain.
 */
export class CompressionCodec implements PayloadCodec {
  constructor(private readonly decodeOnly = false) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    if (this.decodeOnly) return payloads;
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
      return temporal.api.common.v1.Payload.decode(inflateSync(payload.data ?? new Uint8Array(), { maxOutputLength: MAX_INFLATED_BYTES }));
    });
  }
}

/**
 * The codecs, in encoding order (decoding runs them backwards): with keys the sealed format (which
 * compresses), the zlib codec only reading the former chain's payloads; without keys, zlib alone.
 * Old payloads (the former chain, encrypted only, or clear) still decode.
 */
export function payloadCodecsFor(keys: readonly PayloadKey[] | undefined): PayloadCodec[] {
  return keys && keys.length > 0 ? [new CompressionCodec(true), new EncryptionCodec(keys)] : [new CompressionCodec()];
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
