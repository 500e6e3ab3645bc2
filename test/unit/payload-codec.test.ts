/** The payload codec: what reaches Temporal is ciphertext naming its key; keys rotate; old plain payloads still read. */
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, generatePayloadKeys, parsePayloadKeys } from '../../platform/payload-codec';

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
