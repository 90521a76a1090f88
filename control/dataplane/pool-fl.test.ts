/**
 * The pool as the addon exposes it to ferryd, for what aggregation jobs
 * need of it: model-sized classes (ResNet-152: 240 MB) in a pool past
 * 4 GiB, addressed from TypeScript by offsets above 32 bits; and sealing,
 * so a shared global model cannot be freed or taken by mistake.
 */
import { describe, expect, it } from 'vitest';
import { errorCode, native } from './native.js';

const modelBytes = (params: number) => Math.ceil((64 + 4 * params) / 64) * 64;

function thrownCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return errorCode(err);
  }
  return undefined;
}

describe('pool for FL jobs (addon)', () => {
  it('serves 240 MB buffers past 4 GiB to TypeScript', () => {
    const size = modelBytes(60_000_000);
    const pool = new native.Pool({ name: 'fl-big', classes: [{ size: 64, count: 4 }, { size, count: 2, maxCount: 20 }] });
    try {
      expect(pool.grow(1, 18)).toBe(18);
      const bufs = Array.from({ length: 20 }, () => pool.alloc(size, 1));
      const high = bufs.find((b) => b.offset > 2 ** 32);
      expect(high, 'some buffer lies past 4 GiB').toBeDefined();
      expect(high!.capacity).toBe(size);
      const view = new Uint8Array(pool.buffer, high!.offset, size);
      view[size - 1] = 9;
      expect(pool.check(high!.offset, high!.generation, size)).toBe(size);
      expect(thrownCode(() => pool.alloc(size, 1))).toBe('EPOOL_EXHAUSTED');
      for (const b of bufs) pool.free(b.offset, b.generation);
      expect(view[size - 1]).toBe(0); // freed: its pages went back, it reads as zeros
      expect(pool.stats().inUse).toBe(0);
    } finally {
      pool.close();
    }
  });

  it('refuses to free or take a sealed buffer until it is unsealed', () => {
    const pool = new native.Pool({ name: 'fl-seal', classes: [{ size: 4096, count: 2 }] });
    try {
      const b = pool.alloc(100, 1);
      pool.label(b.offset, b.generation, 3, native.nowMs());
      expect(pool.seal(b.offset, b.generation, true)).toBe(true);
      expect(thrownCode(() => pool.free(b.offset, b.generation))).toBe('ESEALED');
      expect(thrownCode(() => pool.take(b.offset, b.generation, 2))).toBe('ESEALED');
      expect(pool.expire(native.nowMs() + 1000).count).toBe(0);
      expect(thrownCode(() => pool.seal(b.offset, b.generation + 1, true))).toBe('ESTALE');
      pool.seal(b.offset, b.generation, false);
      pool.free(b.offset, b.generation);
      expect(thrownCode(() => pool.seal(b.offset, b.generation, true))).toBe('EDOUBLE_FREE');
      expect(pool.stats().inUse).toBe(0);
    } finally {
      pool.close();
    }
  });
});
