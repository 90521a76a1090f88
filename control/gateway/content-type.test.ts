import { describe, expect, it } from 'vitest';
import { BINARY_TYPE, JSON_TYPE, replyContentType, TEXT_TYPE } from './content-type.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('reply content type', () => {
  it('labels objects and arrays JSON without parsing them', () => {
    expect(replyContentType(bytes('  {"a": 1}'))).toBe(JSON_TYPE);
    expect(replyContentType(bytes('[1, 2'))).toBe(JSON_TYPE); // starts like JSON: labelled, not checked
  });

  it('labels short JSON scalars JSON (a handler that returned a plain value)', () => {
    for (const s of ['42', '"word"', 'true', 'null']) expect(replyContentType(bytes(s))).toBe(JSON_TYPE);
  });

  it('labels other UTF-8 text/plain, including an empty body', () => {
    expect(replyContentType(bytes('hello, wörld'))).toBe(TEXT_TYPE);
    expect(replyContentType(new Uint8Array(0))).toBe(TEXT_TYPE);
  });

  it('labels bytes that are not UTF-8 application/octet-stream', () => {
    expect(replyContentType(new Uint8Array([0x41, 0xff, 0xfe, 0x00]))).toBe(BINARY_TYPE);
  });
});
