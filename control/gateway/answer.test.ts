/**
 * answerOf on replies crafted byte by byte, as a buggy or hostile function
 * (or a forged descriptor) could deliver them: the gateway trusts nothing
 * in a FLAG_RESPONSE reply that it has not checked.
 */
import { describe, expect, it } from 'vitest';
import { FLAG_ERROR, FLAG_RESPONSE, Status } from '../dataplane/descriptor.js';
import { native } from '../dataplane/native.js';
import { TAG_MAX } from '../dataplane/response.js';
import { answerOf } from './answer.js';
import { GatewayError } from './errors.js';
import type { Reply } from './injector.js';

const enc = new TextEncoder();

function reply(flags: number, statusCode: number, payload: Uint8Array): Reply {
  return {
    requestId: 1n,
    status: flags === 0 && statusCode === 0 ? 'ok' : 'unknown',
    error: (flags & FLAG_ERROR) !== 0,
    flags,
    statusCode,
    body: payload,
    release: () => undefined,
    holdUntil: () => undefined,
    hopCount: 1,
    fromStage: 2,
    offset: 0,
    generation: 1,
    sent: { offset: 0, generation: 1 },
  };
}

/** body, then tag, then tag's length: the trailer abi.h defines. */
function payload(body: string, tag: string | Uint8Array): Uint8Array {
  const t = typeof tag === 'string' ? enc.encode(tag) : tag;
  return new Uint8Array([...enc.encode(body), ...t, t.byteLength]);
}

function thrown(r: Reply): GatewayError {
  try {
    answerOf(r, 'c');
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('answerOf did not throw');
}

describe('answerOf', () => {
  it('agrees with abi.h on the trailer limit and the flags', () => {
    expect(TAG_MAX).toBe(native.layout.responseTagMax);
    expect(FLAG_RESPONSE & FLAG_ERROR).toBe(0);
  });

  it('answers a plain reply with 200 and an inferred type, and a data-plane failure with its error', () => {
    expect(answerOf(reply(0, 0, enc.encode('{"a":1}')), 'c')).toMatchObject({ status: 200, contentType: 'application/json; charset=utf-8' });
    const e = thrown({ ...reply(FLAG_ERROR, Status.noRoute, enc.encode('gone')), status: 'noRoute' });
    expect([e.statusCode, e.code]).toEqual([502, 'noRoute']);
  });

  it("answers a function's response and error as it gave them", () => {
    const ok = answerOf(reply(FLAG_RESPONSE, 201, payload('a,b', 'text/csv; header=present')), 'c');
    expect(ok).toEqual({ status: 201, contentType: 'text/csv; header=present', body: enc.encode('a,b') });
    const e = thrown(reply(FLAG_RESPONSE | FLAG_ERROR, 409, payload('taken', 'seatTaken')));
    expect(e.toJSON()).toEqual({ error: { code: 'seatTaken', message: 'taken', chain: 'c' } });
    expect(e.statusCode).toBe(409);
  });

  const refused: [string, Reply, RegExp][] = [
    ['a header injection in the content type', reply(FLAG_RESPONSE, 200, payload('x', 'text/plain\r\nset-cookie: a=b')), /is not a media type/],
    ['a NUL in the content type', reply(FLAG_RESPONSE, 200, payload('x', 'text/plain\0')), /is not a media type/],
    ['non-ASCII in the content type', reply(FLAG_RESPONSE, 200, payload('x', new Uint8Array([0x74, 0x2f, 0xe9]))), /is not a media type/],
    ['a content type without a subtype', reply(FLAG_RESPONSE, 200, payload('x', 'text')), /is not a media type/],
    ['a trailer longer than the payload', reply(FLAG_RESPONSE, 200, new Uint8Array([0x61, 9])), /names 9 tag bytes, but the payload has 2/],
    ['an empty payload', reply(FLAG_RESPONSE, 200, new Uint8Array(0)), /no trailer/],
    ['a 1xx status', reply(FLAG_RESPONSE, 101, payload('', '')), /101 is not an HTTP status from 200 to 599/],
    ['a status past 599', reply(FLAG_RESPONSE, 600, payload('', '')), /600 is not an HTTP status/],
    ['an error with a 2xx status', reply(FLAG_RESPONSE | FLAG_ERROR, 200, payload('m', '')), /200 is not an HTTP status from 400 to 599/],
    ['an error code with a newline', reply(FLAG_RESPONSE | FLAG_ERROR, 400, payload('m', 'bad\ncode')), /error code .* must be/],
    ['a body on a 304', reply(FLAG_RESPONSE, 304, payload('x', '')), /status 304 has no body/],
  ];

  it.each(refused)('refuses %s as a 500 functionError naming the stage', (_what, r, why) => {
    const e = thrown(r);
    expect([e.statusCode, e.code, e.chain]).toEqual([500, 'functionError', 'c']);
    expect(e.message).toMatch(/^stage 2 answered with a response HTTP cannot carry: /);
    expect(e.message).toMatch(why);
    expect(Object.keys(e.headers)).toEqual([]);
  });
});
