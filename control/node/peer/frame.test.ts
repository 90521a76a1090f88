/** The ferryd-to-ferryd frame format: what goes in comes out, and every
 * broken header is refused with a reason. */
import { describe, expect, it } from 'vitest';
import { decodeHeader, decodeHello, DEFAULT_MAX_PAYLOAD, encodeFrame, FrameError, FrameType, HEADER_SIZE, helloFrame, type Frame, type FrameHeader } from './frame.js';
import { FrameReceiver, type Landing } from './frame-receiver.js';

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

/** A receiver that collects every frame whole. */
function receiver(out: Frame[], land: (h: FrameHeader) => Landing | undefined = () => undefined): FrameReceiver {
  return new FrameReceiver({ land, frame: (f) => out.push(f) }, DEFAULT_MAX_PAYLOAD);
}

function collect(chunks: Buffer[]): Frame[] {
  const out: Frame[] = [];
  const r = receiver(out);
  for (const c of chunks) r.push(c);
  return out;
}

/** Feeds bytes as a socket reading in place would: into readBuffer(), at
 * most `most` bytes a read. */
function readInPlace(r: FrameReceiver, bytes: Buffer, most: number): void {
  let at = 0;
  while (at < bytes.length) {
    const dst = r.readBuffer();
    const n = Math.min(dst.byteLength, most, bytes.length - at);
    dst.set(bytes.subarray(at, at + n));
    at += n;
    r.onRead(n);
  }
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
    const [f] = collect([encodeFrame(request, payload)]);
    expect(f?.header).toEqual({ ...request, length: payload.length });
    expect(f?.payload.toString()).toBe('payload bytes');
  });

  it('reassembles frames split at any byte and several frames in one chunk', () => {
    const a = encodeFrame(request, Buffer.alloc(1000, 1));
    const b = encodeFrame({ ...request, type: FrameType.Reply, stage: 0xffff, requestId: 9n }, Buffer.from('ok'));
    const all = Buffer.concat([a, b, a]);
    for (const cut of [1, 7, HEADER_SIZE, HEADER_SIZE + 1, 500, a.length, a.length + 3]) {
      const frames = collect([all.subarray(0, cut), all.subarray(cut)]);
      expect(frames.map((f) => [f.header.requestId, f.payload.length])).toEqual([
        [request.requestId, 1000],
        [9n, 2],
        [request.requestId, 1000],
      ]);
    }
    const byteByByte = collect([...all].map((x) => Buffer.from([x])));
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
    expect(() => collect([bytes])).toThrow(FrameError);
    expect(() => decodeHeader(bytes)).toThrow(message);
  });

  it('refuses a reply without a gateway', () => {
    const b = encodeFrame({ ...request, type: FrameType.Reply, stage: 0xffff, replyTo: 0 });
    expect(() => decodeHeader(b)).toThrow(/reply frame without a gateway/);
  });

  it('job frames: control capped at 64 KiB, models past the request cap (the lander holds them to the job), never chain 0', () => {
    const job = { ...request, type: FrameType.JobControl, stage: 0, replyTo: 0 };
    const withLength = (h: Omit<FrameHeader, 'length'>, n: number) => {
      const b = encodeFrame(h);
      b.writeUInt32LE(n, 36);
      return b;
    };
    expect(decodeHeader(withLength(job, 64 << 10)).type).toBe(FrameType.JobControl);
    expect(() => decodeHeader(withLength(job, (64 << 10) + 1))).toThrow(/job control frame of 65537 bytes/);
    expect(() => decodeHeader(withLength({ ...job, chainId: 0 }, 10))).toThrow(/job control frame for chain 0/);
    const model = { ...job, type: FrameType.JobModel };
    expect(decodeHeader(withLength(model, DEFAULT_MAX_PAYLOAD + 1)).length).toBe(DEFAULT_MAX_PAYLOAD + 1);
    expect(() => decodeHeader(withLength(model, 2 ** 31 + 1))).toThrow(/job model frame of 2147483649 bytes/);
    expect(() => decodeHeader(withLength({ ...model, chainId: 0 }, 10))).toThrow(/job model frame for chain 0/);
  });

  it('delivers the frames before a bad header, then refuses', () => {
    const good = encodeFrame(request, Buffer.from('first'));
    const seen: string[] = [];
    const out: Frame[] = [];
    expect(() => receiver(out).push(Buffer.concat([good, Buffer.alloc(HEADER_SIZE, 0xee)]))).toThrow(/bad magic/);
    expect(out.map((f) => f.payload.toString())).toEqual(['first']);
  });

  it('carries a hello and refuses a malformed one', () => {
    const [f] = collect([helloFrame({ from: 'a', to: 'b' })]);
    expect(f?.header.type).toBe(FrameType.Hello);
    expect(decodeHello(f!.payload)).toEqual({ from: 'a', to: 'b' });
    expect(() => decodeHello(Buffer.from('not json'))).toThrow(/not JSON/);
    expect(() => decodeHello(Buffer.from('{"from":"a"}'))).toThrow(/must be \{"from": name, "to": name\}/);
  });

  it('lands payloads where the lander says, in place without a copy, and counts the copies of pushed chunks', () => {
    const region = Buffer.alloc(3000);
    const landed: number[] = [];
    let next = 0;
    const land = (h: FrameHeader): Landing => {
      const at = next;
      next += h.length;
      return { into: region.subarray(at, at + h.length), landed: () => landed.push(at), abandon: () => landed.push(-1) };
    };
    const a = encodeFrame(request, Buffer.alloc(1000, 1));
    const b = encodeFrame({ ...request, requestId: 2n }, Buffer.alloc(500, 2));
    const all = Buffer.concat([a, b]);

    const inPlace = receiver([], land);
    readInPlace(inPlace, all, 300);
    expect(landed).toEqual([0, 1000]);
    expect(region.subarray(0, 1000).every((x) => x === 1) && region.subarray(1000, 1500).every((x) => x === 2)).toBe(true);
    expect(inPlace.copiedBytes).toBe(0);

    const pushed = receiver([], land);
    pushed.push(all);
    expect(landed).toEqual([0, 1000, 1500, 2500]);
    expect(pushed.copiedBytes).toBe(1500);
  });

  it('never reads past the header or the payload it is filling', () => {
    const r = receiver([], (h) => ({ into: Buffer.alloc(h.length), landed: () => undefined, abandon: () => undefined }));
    expect(r.readBuffer().byteLength).toBe(HEADER_SIZE);
    readInPlace(r, encodeFrame(request, Buffer.alloc(100)).subarray(0, HEADER_SIZE + 30), 1 << 20);
    expect(r.readBuffer().byteLength).toBe(70);
    expect(r.pending).toBe(HEADER_SIZE + 30);
  });

  it('gives back a half-filled landing when the stream ends mid-frame', () => {
    const events: string[] = [];
    const r = receiver([], (h) => ({ into: Buffer.alloc(h.length), landed: () => events.push('landed'), abandon: () => events.push('abandoned') }));
    r.push(encodeFrame(request, Buffer.alloc(100)).subarray(0, HEADER_SIZE + 50));
    r.abandon();
    expect(events).toEqual(['abandoned']);
    expect(r.pending).toBe(0);
  });
});
