/** Masking of secret variables: declared names and names that look secret; values masked inside any text. */
import { MASK, maskVariables, redactor } from '../../domain/secrets';

describe('secret variables', () => {
  const vars = { REGION: 'eu', API_TOKEN: 'tok_12345', SIGNING: 'hmac-abcdef', PIN: '42' };

  it('when variables are shown, then declared secrets and secret-looking names are masked', () => {
    expect(maskVariables(vars, ['SIGNING', 'PIN'])).toEqual({ REGION: 'eu', API_TOKEN: MASK, SIGNING: MASK, PIN: MASK });
  });

  it('when a recorded value holds a secret, then it is masked wherever it appears, keys untouched', () => {
    const redact = redactor(vars, ['SIGNING', 'PIN']);
    expect(
      redact({
        url: 'https://api.example/x?token=tok_12345&sig=hmac-abcdef',
        nested: [{ hmac: 'hmac-abcdef' }, 'eu'],
        pin: '42',
        note: 'answer 42 is not masked inside text (too short)',
        n: 42,
      }),
    ).toEqual({
      url: `https://api.example/x?token=${MASK}&sig=${MASK}`,
      nested: [{ hmac: MASK }, 'eu'],
      pin: MASK,
      note: 'answer 42 is not masked inside text (too short)',
      n: 42,
    });
  });

  it('when no variable is secret, then values pass through as they are', () => {
    const value = { a: 'eu' };
    expect(redactor({ REGION: 'eu' })(value)).toBe(value);
  });
});
