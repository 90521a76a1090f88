/**
 * control/fl/wire.ts against abi.h as the compiler laid it out (the addon's
 * layout.fl, offsetof), so the TypeScript mirror cannot drift from the one
 * C definition; and the addon's FL kernels (native.flFold, flAllFinite),
 * which must do exactly the native aggregator's float32 arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { native } from '../dataplane/native.js';
import * as wire from './wire.js';

const fl = native.layout.fl;

describe('FL wire format against abi.h', () => {
  it('has the header sizes and constants of abi.h', () => {
    expect(fl.update.size).toBe(wire.HEADER_SIZE);
    expect(fl.msg.size).toBe(wire.HEADER_SIZE);
    expect(fl.headerSize).toBe(wire.HEADER_SIZE);
    expect(fl.dtypeFloat32).toBe(wire.DTYPE_FLOAT32);
    expect(fl.clientIdMax).toBe(wire.CLIENT_ID_MAX);
    expect([fl.updateMagic, fl.updateVersion]).toEqual([wire.UPDATE_MAGIC, wire.UPDATE_VERSION]);
    expect([fl.msgMagic, fl.msgVersion]).toEqual([wire.MSG_MAGIC, wire.MSG_VERSION]);
    expect(fl.op).toEqual(wire.Op);
    // FLUSH's discard flag, once wire.ts names it (fl-coord adds it).
    const discard = (wire as Record<string, unknown>)['FLUSH_DISCARD'];
    if (discard !== undefined) expect(discard).toBe(fl.flushDiscard);
  });

  it('puts every update field where struct ferry_fl_update has it', () => {
    expect(wire.UpdateField).toEqual(fl.update.fields);
  });

  it('puts every message field where struct ferry_fl_msg has it', () => {
    const { reserved, ...named } = fl.msg.fields;
    expect(reserved).toBe(52);
    expect(wire.MsgField).toEqual(named);
  });

  it('encodes a message the C side reads at its own offsets', () => {
    const b = new Uint8Array(wire.HEADER_SIZE + 8).fill(0xee);
    wire.encodeMsg(b, {
      op: wire.Op.flush, round: 7, paramCount: 11_689_512, weight: 2.5, count: 3,
      expectParent: 4, expectTop: 2, baseOffset: 2 ** 33 + 64, baseGeneration: 9,
    });
    const v = new DataView(b.buffer);
    const f = fl.msg.fields;
    expect(v.getUint32(f.magic, true)).toBe(fl.msgMagic);
    expect(v.getUint16(f.op, true)).toBe(fl.op.flush);
    expect(v.getUint32(f.paramCount, true)).toBe(11_689_512);
    expect(v.getFloat64(f.weight, true)).toBe(2.5);
    expect(v.getBigUint64(f.baseOffset, true)).toBe(2n ** 33n + 64n);
    expect(v.getUint32(f.baseGeneration, true)).toBe(9);
    expect(v.getUint32(f.reserved, true)).toBe(0);
    expect(b[wire.HEADER_SIZE]).toBe(0xee); // the tensor is not touched
    expect(wire.decodeMsg(b)).toMatchObject({ round: 7, expectParent: 4, expectTop: 2, baseOffset: 2 ** 33 + 64 });
  });

  it('encodes an update header the gateway reads at abi.h offsets', () => {
    const delta = new Float32Array([1, -2, 3.5]);
    const b = wire.encodeUpdate({ numExamples: 42, round: 3, clientId: 'client-7.a_b' }, delta);
    const v = new DataView(b.buffer);
    const f = fl.update.fields;
    expect(v.getUint32(f.magic, true)).toBe(fl.updateMagic);
    expect(v.getUint16(f.dtype, true)).toBe(fl.dtypeFloat32);
    expect(v.getUint32(f.numExamples, true)).toBe(42);
    expect(v.getUint32(f.paramCount, true)).toBe(3);
    expect(new TextDecoder().decode(b.subarray(f.clientId, f.clientId + 12))).toBe('client-7.a_b');
    expect(b[f.clientId + 12]).toBe(0);
    expect(new Float32Array(b.buffer.slice(wire.HEADER_SIZE))).toEqual(delta);
  });
});

/** A seeded tensor with values of every magnitude. */
function tensor(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * 10 ** ((i % 9) - 4);
  }
  return out;
}

describe('native FL kernels', () => {
  it('flFold is float32 acc += w * u, value for value', () => {
    // Not a multiple of any vector width: the scalar tail counts too.
    const n = 100_003;
    const acc = tensor(n, 1);
    const u = tensor(n, 2);
    const want = acc.map((a, i) => Math.fround(a + Math.fround(Math.fround(0.3) * u[i]!)));
    native.flFold(acc, u, 0.3);
    let differ = 0;
    for (let i = 0; i < n; i++) if (acc[i] !== want[i]) differ++;
    expect(differ).toBe(0);
  });

  it('flFold refuses what is not one model: lengths, types, overlap', () => {
    expect(() => native.flFold(new Float32Array(4), new Float32Array(5), 1)).toThrow(/4 values and update 5/);
    expect(() => native.flFold(new Float64Array(4) as unknown as Float32Array, new Float32Array(4), 1)).toThrow(/Float32Array/);
    expect(() => native.flFold(new Float32Array(4), new Float32Array(4), 'x' as unknown as number)).toThrow(/weight/);
    const shared = new Float32Array(8);
    expect(() => native.flFold(shared.subarray(0, 4), shared.subarray(2, 6), 1)).toThrow(/overlap/);
    native.flFold(shared.subarray(0, 4), shared.subarray(4, 8), 1); // adjacent is fine
  });

  it('flAllFinite finds a NaN or an infinity anywhere', () => {
    const n = 3 * 4096 + 5;
    const v = tensor(n, 3);
    expect(native.flAllFinite(v)).toBe(true);
    expect(native.flAllFinite(new Float32Array(0))).toBe(true);
    for (const [at, bad] of [[0, NaN], [4095, Infinity], [4096, -Infinity], [n - 1, NaN]] as const) {
      const w = v.slice();
      w[at] = bad;
      expect(native.flAllFinite(w), `${bad} at ${at}`).toBe(false);
    }
    expect(native.flAllFinite(new Float32Array([3.4028234663852886e38, -3.4028234663852886e38, 1e-45]))).toBe(true);
  });
});
