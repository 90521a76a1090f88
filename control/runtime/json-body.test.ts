/**
 * ctx.field / ctx.annotate's scanner: it must agree with JSON.parse on
 * every body it accepts, and refuse (JsonBodyError) bodies that are not
 * objects, since a stage acting on a misread member would route wrong.
 */
import { describe, expect, it } from 'vitest';
import { annotateInto, JsonBodyError, memberRange, readMember } from './json-body.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string) => enc.encode(s);

describe('readMember', () => {
  const body = bytes(' { "a" : 1, "s": "x}\\"{,", "nested": {"a": [1, {"b": "]"}]}, "k\\u0065y": true, "a": [2] } ');

  it('reads top-level members as JSON.parse does, whatever their neighbours hold', () => {
    const parsed = JSON.parse(dec.decode(body));
    for (const name of ['a', 's', 'nested', 'key']) expect(readMember(body, name)).toEqual(parsed[name]);
  });

  it('never finds a member nested deeper, and says undefined for a missing one', () => {
    expect(readMember(bytes('{"x": {"deep": 1}}'), 'deep')).toBeUndefined();
    expect(readMember(bytes('{}'), 'a')).toBeUndefined();
  });

  it('refuses a body that is not an object, naming the byte', () => {
    for (const bad of ['[1,2]', '"str"', '', '{"a" 1}', '{"a": 1', '{"a": "open}', '{a: 1}', '{"a":1,}'])
      expect(() => memberRange(bytes(bad), 'a'), bad).toThrow(JsonBodyError);
    expect(() => memberRange(bytes('{"a" 1}'), 'a')).toThrow(/expected ":" at byte 5/);
  });
});

describe('annotateInto', () => {
  const cases = ['{}', ' { } ', '{"a":1}', '{\n  "a": {"b": "}"},\n  "c": [1,2]\n}\n', '{"a":1,"seen":false}'];

  it('adds members that JSON.parse then sees, in place in the same buffer', () => {
    for (const text of cases) {
      const room = new Uint8Array(256);
      const body = room.subarray(0, enc.encodeInto(text, room).written);
      const out = annotateInto(body, { seen: true, n: 3, skip: undefined, s: 'é"' }, room)!;
      expect(out.buffer).toBe(room.buffer);
      expect(out.byteOffset).toBe(room.byteOffset);
      expect(JSON.parse(dec.decode(out)), text).toEqual({ ...JSON.parse(text), seen: true, n: 3, s: 'é"' });
    }
  });

  it('copies into another buffer when asked, and says undefined when it does not fit', () => {
    const body = bytes('{"a":1}');
    const other = new Uint8Array(64);
    expect(JSON.parse(dec.decode(annotateInto(body, { b: 2 }, other)!))).toEqual({ a: 1, b: 2 });
    expect(annotateInto(body, { b: 2 }, new Uint8Array(9))).toBeUndefined();
  });

  it('refuses a body that is not an object', () => {
    for (const bad of ['[1]', '"x"', '', '   ', '{', '}'])
      expect(() => annotateInto(bytes(bad), { a: 1 }, new Uint8Array(64)), bad).toThrow(JsonBodyError);
  });
});
