/** The payload codec: what reaches Temporal is ciphertext naming its key; keys rotate; old plain payloads still read. */
import { defaultPayloadConverter } from '@temporalio/common';
import { chainedCodec, COMPRESSED_ENCODING, CompressionCodec, EncryptionCodec, generatePayloadKeys, parsePayloadKeys, payloadCodecsFor } from '../../platform/payload-codec';

const secret = { token: 'sk_live_do_not_leak' };

describe('the payload codec', () => {
  const [oldKey] = parsePayloadKeys(generatePayloadKeys('old'));
  const [newKey] = parsePayloadKeys(generatePayloadKeys('new'));

  it('when a payload is encoded, then its bytes hold no plain text and it decodes back', async () => {
    const codec = new EncryptionCodec([oldKey]);
    const plain = defaultPayloadConverter.toPayload(secret);
    const [sealed] = await codec.encode([plain]);
    expect(Buffer.from(sealed.data!).toString('latin1')).not.toContain('sk_live');
    expect(new TextDecoder().decode(sealed.metadata!['encryption-key-id'])).toBe('old');
    const [opened] = await codec.decode([sealed]);
    expect(defaultPayloadConverter.fromPayload(opened)).toEqual(secret);
  });

  it('when the key rotates, then payloads sealed with the previous key still open and new ones use the new key', async () => {
    const [sealedOld] = await new EncryptionCodec([oldKey]).encode([defaultPayloadConverter.toPayload(secret)]);
    const rotated = new EncryptionCodec([newKey, oldKey]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([sealedOld]))[0])).toEqual(secret);
    const [sealedNew] = await rotated.encode([defaultPayloadConverter.toPayload(secret)]);
    expect(new TextDecoder().decode(sealedNew.metadata!['encryption-key-id'])).toBe('new');
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
    const [alone] = await new EncryptionCodec(keys).encode([payload]);
    expect(stored[0].data!.length).toBeLessThan(alone.data!.length / 3);
    const opened = await chainedCodec(chain).decode(stored);
    expect(defaultPayloadConverter.fromPayload(opened[0])).toEqual(big);
  });

  it('when a payload is small or incompressible, then it is left as it is; old payloads (encrypted only, or clear) still read', async () => {
    const keys = parsePayloadKeys(generatePayloadKeys('k1'));
    const small = defaultPayloadConverter.toPayload('hi');
    expect(await new CompressionCodec().encode([small])).toEqual([small]);
    const [old] = await new EncryptionCodec(keys).encode([defaultPayloadConverter.toPayload(big)]);
    const codec = chainedCodec(payloadCodecsFor(keys));
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
