/** Where the gateway reads a request's key, and what it does without one. */
import { describe, expect, it } from 'vitest';
import { keyHash } from '../node/router/ring.js';
import { requestKeyOf } from './request-key.js';

const body = (s: string) => () => new TextEncoder().encode(s);
const none = () => {
  throw new Error('the body is not read for a header key');
};

describe('request keys', () => {
  it('hashes a header, the first of several, and has none without it', () => {
    expect(requestKeyOf({ header: 'x-user' }, { 'x-user': 'alice' }, none)).toBe(keyHash('alice'));
    expect(requestKeyOf({ header: 'x-user' }, { 'x-user': ['bob', 'eve'] as unknown as string }, none)).toBe(keyHash('bob'));
    expect(requestKeyOf({ header: 'x-user' }, {}, none)).toBeUndefined();
    expect(requestKeyOf({ header: 'x-user' }, { 'x-user': '' }, none)).toBeUndefined();
  });

  it('hashes a top-level JSON field that is a string or a number', () => {
    expect(requestKeyOf({ field: 'user' }, {}, body(' {"user":"alice","n":1}'))).toBe(keyHash('alice'));
    expect(requestKeyOf({ field: 'n' }, {}, body('{"user":"alice","n":17}'))).toBe(keyHash('17'));
  });

  it('has no key for a body that is not a JSON object, or lacks the field, or holds something else there', () => {
    for (const b of ['', 'alice', '[1,2]', '{"user":', '{"other":"x"}', '{"user":{"id":1}}', '{"user":null}', '{"user":true}'])
      expect(requestKeyOf({ field: 'user' }, {}, body(b)), b).toBeUndefined();
  });
});
