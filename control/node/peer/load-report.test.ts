/** Load frames: what round-trips, and what a broken or hostile peer's
 * report is refused for (a FrameError: the link closes, as for any bad frame). */
import { describe, expect, it } from 'vitest';
import { decodeHeader, decodeHello, DEFAULT_MAX_PAYLOAD, encodeFrame, FrameError, FrameType, helloFrame, MAX_LOAD_PAYLOAD, type Frame } from './frame.js';
import { FrameReceiver } from './frame-receiver.js';
import { decodeLoad, loadFrame, type LoadReport } from './load-report.js';

const report: LoadReport = {
  cpu: 0.5,
  mem: 0.25,
  load1: 1.5,
  stages: [{ chainId: 7, stage: 2, ready: 3, warm: true, inFlight: 4.5, cpu: 0.9 }],
};

function frameOf(buf: Buffer): Frame {
  let out: Frame | undefined;
  new FrameReceiver({ land: () => undefined, frame: (f) => (out = f) }, DEFAULT_MAX_PAYLOAD).push(buf);
  return out!;
}

describe('load reports', () => {
  it('round-trip through a Load frame about chain 0', () => {
    const f = frameOf(loadFrame(report));
    expect(f.header.type).toBe(FrameType.Load);
    expect(f.header.chainId).toBe(0);
    expect(decodeLoad(f.payload)).toEqual(report);
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['a cpu above 1', JSON.stringify({ ...report, stages: [], cpu: 1.5 }), /must be \{"cpu": 0\.\.1/],
    ['no stages', JSON.stringify({ cpu: 0, mem: 0, load1: 0 }), /must be \{"cpu"/],
    ['a short stage', JSON.stringify({ cpu: 0, mem: 0, load1: 0, stages: [[1, 2, 3]] }), /stage must be \[chainId, stage, ready, warm 0\|1, inFlight, cpu 0\.\.1\]/],
    ['a stage id past 16 bits', JSON.stringify({ cpu: 0, mem: 0, load1: 0, stages: [[1, 70000, 1, 1, 0, 0]] }), /stage must be/],
    ['a negative in-flight', JSON.stringify({ cpu: 0, mem: 0, load1: 0, stages: [[1, 2, 1, 1, -1, 0]] }), /stage must be/],
  ])('refuses %s', (_what, body, message) => {
    expect(() => decodeLoad(Buffer.from(body))).toThrow(FrameError);
    expect(() => decodeLoad(Buffer.from(body))).toThrow(message);
  });

  it('refuses a Load frame about a chain, or too large, at the header', () => {
    const head = (chainId: number, length: number) => {
      const b = encodeFrame({ type: FrameType.Load, chainId, stage: 0, fromStage: 0, requestId: 0n, replyTo: 0, status: 0, flags: 0, hopCount: 0 });
      b.writeUInt32LE(length, 36);
      return b;
    };
    expect(() => decodeHeader(head(3, 10))).toThrow(/load report for chain 3/);
    expect(() => decodeHeader(head(0, MAX_LOAD_PAYLOAD + 1))).toThrow(/load report of \d+ bytes/);
    expect(decodeHeader(head(0, 10)).type).toBe(FrameType.Load);
  });

  it('says in the hello who speaks it, and an older hello without features still decodes', () => {
    expect(decodeHello(frameOf(helloFrame({ from: 'a', to: 'b', features: ['load-v1'] })).payload)).toEqual({ from: 'a', to: 'b', features: ['load-v1'] });
    expect(decodeHello(Buffer.from('{"from":"a","to":"b"}'))).toEqual({ from: 'a', to: 'b' });
    expect(() => decodeHello(Buffer.from('{"from":"a","to":"b","features":"load-v1"}'))).toThrow(/features/);
  });
});
