/**
 * The TypeScript pick against the vectors the kernel's pick is run on
 * (dataplane-native/test/test_pick.c): the two must choose the same target
 * for the same route and random number, and the same owner for the same ring
 * and key. The constants must be abi.h's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RouterClass } from '../../dataplane/native.js';
import { repoRoot } from '../../paths.js';
import { KEY_BITS, KEY_SHIFT, pickIndex, pickWeighted, requestKey, RING_MAX, ringPick, totalWeight } from './pick.js';

interface Vector {
  line: number;
  kind: 'pick' | 'ring';
  text: string;
}

const vectors: Vector[] = readFileSync(join(repoRoot, 'bpf/testdata/pick-vectors.txt'), 'utf8')
  .split('\n')
  .map((text, i) => ({ line: i + 1, text, kind: text.split(' ')[0] as Vector['kind'] }))
  .filter((v) => v.kind === 'pick' || v.kind === 'ring');

describe('the TypeScript pick agrees with the kernel\'s', () => {
  it('reads the shared table', () => {
    expect(vectors.filter((v) => v.kind === 'pick').length).toBeGreaterThan(100);
    expect(vectors.filter((v) => v.kind === 'ring').length).toBeGreaterThan(50);
  });

  it('chooses the expected index for every weighted vector', () => {
    const wrong: string[] = [];
    for (const v of vectors.filter((x) => x.kind === 'pick')) {
      const [, w, rand, want] = v.text.split(' ');
      const weights = w === '-' ? [] : w!.split(',').map(Number);
      const got = pickIndex(weights, Number(rand));
      if (got !== Number(want)) wrong.push(`line ${v.line}: got ${got}, want ${want}`);
    }
    expect(wrong).toEqual([]);
  });

  it('chooses the expected owner for every ring vector', () => {
    const wrong: string[] = [];
    for (const v of vectors.filter((x) => x.kind === 'ring')) {
      const [, pts, key, want] = v.text.split(' ');
      const pairs = pts!.split(',').map((p) => p.split(':').map(Number) as [number, number]);
      const got = ringPick({ points: pairs.map((p) => p[0]), owners: pairs.map((p) => p[1]) }, Number(key));
      if (got !== Number(want)) wrong.push(`line ${v.line}: got ${got}, want ${want}`);
    }
    expect(wrong).toEqual([]);
  });

  it('uses abi.h\'s key layout and ring size', () => {
    expect({ keyShift: KEY_SHIFT, keyBits: KEY_BITS, ringMax: RING_MAX }).toEqual({
      keyShift: RouterClass.keyShift,
      keyBits: RouterClass.keyBits,
      ringMax: RouterClass.ringMax,
    });
  });

  it('refuses weights the routers cannot draw over, as the loader does', () => {
    expect(() => totalWeight([0xffffffff, 1])).toThrow(/more than 4294967295/);
    expect(() => pickIndex([0x80000000, 0x80000000], 1)).toThrow(RangeError);
    expect(totalWeight([0xfffffffe, 1])).toBe(0xffffffff);
  });

  it('picks targets in proportion to their weights', () => {
    const targets = [{ id: 'a', weight: 1 }, { id: 'b', weight: 0 }, { id: 'c', weight: 3 }];
    const n = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (let i = 0; i < 4000; i++) n[pickWeighted(targets)!.id]!++;
    expect(n.b).toBe(0);
    // 1000 and 3000 expected; 6 standard deviations of a binomial.
    expect(Math.abs(n.a! - 1000)).toBeLessThan(6 * Math.sqrt(4000 * 0.25 * 0.75));
    expect(pickWeighted([{ weight: 0 }])).toBeUndefined();
    expect(pickWeighted([])).toBeUndefined();
  });

  it('reads the key from bits 32..52 of a request id', () => {
    expect(requestKey(12345n)).toBe(0);
    expect(requestKey((777n << 32n) | 0xffffffffn)).toBe(777);
    expect(requestKey((1n << 53n) | (5n << 32n))).toBe(5);
  });
});
