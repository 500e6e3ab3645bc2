/** The payload codec: what reaches Temporal is ciphertext naming its key; keys rotate; old plain payloads still read. */
import { createCipheriv, randomBytes } from 'node:crypto';
import { deflateRawSync, deflateSync } from 'node:zlib';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { chainedCodec, COMPRESSED_ENCODING, CompressionCodec, EncryptionCodec, generatePayloadKeys, parsePayloadKeys, payloadCodecsFor, type PayloadKey } from '../../platform/payload-codec';

const text = new TextEncoder();
const encodingOf = (p: Payload) => new TextDecoder().decode(p.metadata!.encoding);
/** The key id a sealed payload names: its data's bytes 2.. (after the version and the id's length). */
const sealedKeyId = (p: Payload) => Buffer.from(p.data!.subarray(2, 2 + p.data![1]!)).toString();

/** A payload as the former chain wrote it (zlib's `binary/zlib`, then `binary/encrypted` with the key id in its metadata). */
function formerChain(payload: Payload, key: PayloadKey): Payload {
  const zipped: Payload = { metadata: { encoding: text.encode('binary/zlib') }, data: deflateSync(temporal.api.common.v1.Payload.encode(payload).finish()) };
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  const plain = temporal.api.common.v1.Payload.encode(zipped).finish();
  return {
    metadata: { encoding: text.encode('binary/encrypted'), 'encryption-key-id': text.encode(key.id) },
    data: Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]),
  };
}

const secret = { token: 'sk_live_do_not_leak' };

describe('the payload codec', () => {
  const [oldKey] = parsePayloadKeys(generatePayloadKeys('old'));
  const [newKey] = parsePayloadKeys(generatePayloadKeys('new'));

  it('when a payload is encoded, then its bytes hold no plain text and it decodes back', async () => {
    const codec = new EncryptionCodec([oldKey]);
    const plain = defaultPayloadConverter.toPayload(secret);
    const [sealed] = await codec.encode([plain]);
    expect(Buffer.from(sealed.data!).toString('latin1')).not.toContain('sk_live');
    expect(encodingOf(sealed)).toBe('binary/sealed');
    expect(Object.keys(sealed.metadata!)).toEqual(['encoding']);
    expect(sealedKeyId(sealed)).toBe('old');
    const [opened] = await codec.decode([sealed]);
    expect(defaultPayloadConverter.fromPayload(opened)).toEqual(secret);
  });

  it('when the key rotates, then payloads sealed with the previous key still open and new ones use the new key', async () => {
    const [sealedOld] = await new EncryptionCodec([oldKey]).encode([defaultPayloadConverter.toPayload(secret)]);
    const rotated = new EncryptionCodec([newKey, oldKey]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([sealedOld]))[0])).toEqual(secret);
    const [sealedNew] = await rotated.encode([defaultPayloadConverter.toPayload(secret)]);
    expect(sealedKeyId(sealedNew)).toBe('new');
  });

  it('when a payload was written before encryption, then it passes through', async () => {
    const plain = defaultPayloadConverter.toPayload(secret);
    expect(await new EncryptionCodec([oldKey]).decode([plain])).toEqual([plain]);
  });

  it('when a payload names a key that is not configured, or was tampered with, then decoding fails', async () => {
    const [sealed] = await new EncryptionCodec([oldKey]).encode([defaultPayloadConverter.toPayload(secret)]);
    await expect(new EncryptionCodec([newKey]).decode([sealed])).rejects.toThrow(/key old/);
    const tampered = { ...sealed, data: Uint8Array.from(sealed.data!, (b, i) => (i === 20 ? b ^ 1 : b)) };
    await expect(new EncryptionCodec([oldKey]).decode([tampered])).rejects.toThrow();
    // The header (format and key id) is authenticated with the ciphertext: a renamed key does not open.
    const [sameKeyOtherName] = parsePayloadKeys(`olc=${oldKey.key.toString('base64')}`);
    const renamed = { ...sealed, data: Uint8Array.from(sealed.data!, (b, i) => (i === 4 ? 'c'.charCodeAt(0) : b)) };
    expect(sealedKeyId(renamed)).toBe('olc');
    await expect(new EncryptionCodec([sameKeyOtherName]).decode([renamed])).rejects.toThrow();
  });

  it('when a payload is a json/plain one, then its metadata goes without saying; other metadata is sealed with it; binary/null stays as it is', async () => {
    const codec = new EncryptionCodec([oldKey]);
    const json = defaultPayloadConverter.toPayload(secret);
    const [sealed] = await codec.encode([json]);
    // Version, id length, id, IV, flags, JSON, tag: nothing more.
    expect(sealed.data!.length).toBe(2 + 3 + 12 + 1 + json.data!.length + 16);
    const withType: Payload = { metadata: { encoding: text.encode('json/plain'), messageType: text.encode('x.Y') }, data: json.data };
    const [opened] = await codec.decode(await codec.encode([withType]));
    const bytes = (p: Payload) => Buffer.from(temporal.api.common.v1.Payload.encode(p).finish());
    expect(bytes(opened)).toEqual(bytes(withType));
    const none = defaultPayloadConverter.toPayload(undefined);
    expect(encodingOf(none)).toBe('binary/null');
    expect(await codec.encode([none])).toEqual([none]);
  });

  it('when a sealed payload is forged (cut short, an unknown version, a key id running past its end, a deflate bomb), then decoding fails and inflates nothing past its bound', async () => {
    const codec = new EncryptionCodec([oldKey]);
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload(secret)]);
    const forged = (data: Uint8Array): Payload => ({ metadata: sealed.metadata, data });
    await expect(codec.decode([forged(sealed.data!.subarray(0, 20))])).rejects.toThrow(/cut short/);
    await expect(codec.decode([forged(Uint8Array.from(sealed.data!, (b, i) => (i === 0 ? 9 : b)))])).rejects.toThrow(/unknown version/);
    await expect(codec.decode([forged(Uint8Array.from(sealed.data!, (b, i) => (i === 1 ? 255 : b)))])).rejects.toThrow();
    // Even sealed with the right key, a payload that inflates past 64 MiB is refused, not inflated.
    const header = Buffer.from([1, 3, ...Buffer.from('old')]);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', oldKey.key, iv).setAAD(header);
    const bomb = deflateRawSync(Buffer.alloc(65 * 1024 * 1024));
    const data = Buffer.concat([header, iv, cipher.update(Uint8Array.of(1)), cipher.update(bomb), cipher.final(), cipher.getAuthTag()]);
    await expect(codec.decode([forged(data)])).rejects.toThrow('Cannot create a Buffer larger than 67108864 bytes');
  });

  it('when FLOWRUNS_PAYLOAD_KEYS is malformed, then it says how to write it', () => {
    expect(() => parsePayloadKeys('nokey')).toThrow(/id=base64key/);
    expect(() => parsePayloadKeys('a=c2hvcnQ=')).toThrow(/32 bytes/);
  });
});

describe('the codec chain: compression, then encryption', () => {
  const big = { steps: Array.from({ length: 50 }, (_, i) => ({ id: `step-${i}`, type: 'http', config: { url: `https://example.com/api/${i}` } })) };

  it('when a payload is large, then it is stored compressed and encrypted, smaller than encrypted alone, and reads back', async () => {
    const keys = parsePayloadKeys(generatePayloadKeys('k1'));
    const chain = payloadCodecsFor(keys);
    const payload = defaultPayloadConverter.toPayload(big);
    let stored = [payload];
    for (const c of chain) stored = await c.encode(stored);
    expect(stored[0].data!.length).toBeLessThan(payload.data!.length / 3);
    // Smaller than the former chain wrote it.
    expect(stored[0].data!.length).toBeLessThan(formerChain(payload, keys[0]).data!.length);
    const opened = await chainedCodec(chain).decode(stored);
    expect(defaultPayloadConverter.fromPayload(opened[0])).toEqual(big);
  });

  it('when a payload is small or incompressible, then it is left as it is; old payloads (the former chain, encrypted only, or clear) still read', async () => {
    const keys = parsePayloadKeys(generatePayloadKeys('k1'));
    const small = defaultPayloadConverter.toPayload('hi');
    expect(await new CompressionCodec().encode([small])).toEqual([small]);
    const codec = chainedCodec(payloadCodecsFor(keys));
    const former = formerChain(defaultPayloadConverter.toPayload(big), keys[0]);
    expect(defaultPayloadConverter.fromPayload((await codec.decode([former]))[0])).toEqual(big);
    // Encrypted only, in the former format (before compression came in).
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keys[0].key, iv);
    const plain = temporal.api.common.v1.Payload.encode(defaultPayloadConverter.toPayload(big)).finish();
    const old = { metadata: { encoding: text.encode('binary/encrypted'), 'encryption-key-id': text.encode('k1') }, data: Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]) };
    expect(defaultPayloadConverter.fromPayload((await codec.decode([old]))[0])).toEqual(big);
    const clear = defaultPayloadConverter.toPayload(big);
    expect(await codec.decode([clear])).toEqual([clear]);
  });

  it('when the payload is compressed, then it carries the Go SDK zlib codec encoding', async () => {
    const [packed] = await new CompressionCodec().encode([defaultPayloadConverter.toPayload(big)]);
    expect(new TextDecoder().decode(packed.metadata!.encoding)).toBe(COMPRESSED_ENCODING);
    expect(COMPRESSED_ENCODING).toBe('binary/zlib');
  });
});
