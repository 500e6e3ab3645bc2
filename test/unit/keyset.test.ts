/**
 * Keyset paging's cursors (db/keyset.ts): opaque, round-tripping, and anything else refused as
 * `cursor_invalid` on the field `cursor`. The page query itself runs on Postgres in paging.test.ts.
 */
import { decodeCursor, decodeTimeCursor, encodeCursor, timeKey } from '../../db/keyset';
import { InvalidError } from '../../domain/errors';

const refusal = (fn: () => unknown): InvalidError => {
  try {
    fn();
  } catch (err) {
    return err as InvalidError;
  }
  throw new Error('not refused');
};

describe('cursors', () => {
  it('when a key is encoded, then the cursor is URL-safe and decodes to the same key', () => {
    const key = ['2026-01-01T00:00:00.000Z', 'id/with+chars?', 42];
    const cursor = encodeCursor(key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 3)).toEqual(key);
  });

  it('when a row is the last of a page, then its cursor carries (created_at, id) and decodes as a time cursor', () => {
    const key = timeKey({ createdAt: new Date('2026-02-03T04:05:06.789Z'), id: 'run-1' });
    expect(key).toEqual(['2026-02-03T04:05:06.789Z', 'run-1']);
    expect(decodeTimeCursor(encodeCursor(key))).toEqual(key);
  });

  it.each([
    ['not base64 JSON', 'not a cursor!'],
    ['JSON but not an array', Buffer.from('{"a":1}').toString('base64url')],
    ['the wrong arity', encodeCursor(['2026-01-01T00:00:00.000Z'])],
    ['values neither string nor number', Buffer.from('[null, true]').toString('base64url')],
    ['a time that is no time', encodeCursor(['yesterday', 'run-1'])],
    ['an id that is a number', encodeCursor(['2026-01-01T00:00:00.000Z', 7])],
  ])('when a cursor is %s, then it is refused on the field cursor', (_what, cursor) => {
    const err = refusal(() => decodeTimeCursor(cursor));
    expect(err).toBeInstanceOf(InvalidError);
    expect(err.message).toBe('cursor is not valid; pass a cursor returned by this endpoint');
    expect(err).toMatchObject({ field: ['cursor'], options: { type: 'cursor_invalid' } });
  });
});
