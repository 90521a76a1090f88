/** The ferryd-to-ferryd frame format: what goes in comes out, and every
 * broken header is refused with a reason. */
import { describe, expect, it } from 'vitest';
import { decodeHeader, decodeHello, encodeFrame, FrameError, FrameReader, FrameType, HEADER_SIZE, helloFrame, type Frame, type FrameHeader } from './frame.js';

const request: Omit<FrameHeader, 'length'> = {
  type: FrameType.Request,
  chainId: 7,
  stage: 1,
  fromStage: 0,
  requestId: 0x1234_5678_9abcn,
  replyTo: 42,
  status: 0,
  flags: 0,
  hopCount: 3,
};

function collect(reader: FrameReader, chunks: Buffer[]): Frame[] {
  const out: Frame[] = [];
  for (const c of chunks) reader.push(c, (f) => out.push(f));
  return out;
}

/** A valid request header with one field overwritten. */
function patched(offset: number, write: (b: Buffer) => void): Buffer {
  const b = encodeFrame(request, Buffer.from('hi'));
  write(b.subarray(offset));
  return b;
}

describe('frames', () => {
  it('round-trips every header field and the payload', () => {
    const payload = Buffer.from('payload bytes');
    const [f] = collect(new FrameReader(), [encodeFrame(request, payload)]);
    expect(f?.header).toEqual({ ...request, length: payload.length });
    expect(f?.payload.toString()).toBe('payload bytes');
  });

  it('reassembles frames split at any byte and several frames in one chunk', () => {
    const a = encodeFrame(request, Buffer.alloc(1000, 1));
    const b = encodeFrame({ ...request, type: FrameType.Reply, stage: 0xffff, requestId: 9n }, Buffer.from('ok'));
    const all = Buffer.concat([a, b, a]);
    for (const cut of [1, 7, HEADER_SIZE, HEADER_SIZE + 1, 500, a.length, a.length + 3]) {
      const frames = collect(new FrameReader(), [all.subarray(0, cut), all.subarray(cut)]);
      expect(frames.map((f) => [f.header.requestId, f.payload.length])).toEqual([
        [request.requestId, 1000],
        [9n, 2],
        [request.requestId, 1000],
      ]);
    }
    const byteByByte = collect(new FrameReader(), [...all].map((x) => Buffer.from([x])));
    expect(byteByByte).toHaveLength(3);
  });

  it.each([
    ['bad magic', patched(0, (b) => b.writeUInt32LE(0xdeadbeef)), /bad magic 0xdeadbeef/],
    ['unknown version', patched(4, (b) => b.writeUInt16LE(9)), /unsupported frame version 9/],
    ['unknown type', patched(6, (b) => b.writeUInt8(77)), /unknown frame type 77/],
    ['reserved bytes set', patched(34, (b) => b.writeUInt16LE(1)), /reserved header bytes/],
    ['chain 0', patched(8, (b) => b.writeUInt32LE(0)), /chain id 0/],
    ['a request for the reply stage', patched(12, (b) => b.writeUInt16LE(0xffff)), /request frame for the reply stage/],
    ['a reply for a stage', patched(6, (b) => b.writeUInt8(FrameType.Reply)), /reply frame for stage 1/],
    ['a payload over the limit', patched(36, (b) => b.writeUInt32LE(0xffffffff)), /payload of 4294967295 bytes is over the limit/],
  ])('refuses a header with %s', (_what, bytes, message) => {
    const reader = new FrameReader();
    expect(() => collect(reader, [bytes])).toThrow(FrameError);
    expect(() => decodeHeader(bytes)).toThrow(message);
  });

  it('refuses a reply without a gateway', () => {
    const b = encodeFrame({ ...request, type: FrameType.Reply, stage: 0xffff, replyTo: 0 });
    expect(() => decodeHeader(b)).toThrow(/reply frame without a gateway/);
  });

  it('delivers the frames before a bad header, then refuses', () => {
    const good = encodeFrame(request, Buffer.from('first'));
    const seen: string[] = [];
    const reader = new FrameReader();
    expect(() => reader.push(Buffer.concat([good, Buffer.alloc(HEADER_SIZE, 0xee)]), (f) => seen.push(f.payload.toString()))).toThrow(/bad magic/);
    expect(seen).toEqual(['first']);
  });

  it('carries a hello and refuses a malformed one', () => {
    const [f] = collect(new FrameReader(), [helloFrame({ from: 'a', to: 'b' })]);
    expect(f?.header.type).toBe(FrameType.Hello);
    expect(decodeHello(f!.payload)).toEqual({ from: 'a', to: 'b' });
    expect(() => decodeHello(Buffer.from('not json'))).toThrow(/not JSON/);
    expect(() => decodeHello(Buffer.from('{"from":"a"}'))).toThrow(/must be \{"from": name, "to": name\}/);
  });
});
