/** Consistent-hash rings: keys stay with their owner when others come and
 * go, shares follow weights, and every node builds the same ring. */
import { describe, expect, it } from 'vitest';
import { KEY_MASK, RING_MAX, ringPick } from './pick.js';
import { buildRing, keyHash, type RingMember } from './ring.js';

const members = (n: number, weight = () => 1): RingMember<number>[] =>
  Array.from({ length: n }, (_, i) => ({ owner: 100 + i, name: String(100 + i), weight: weight() }));

const keys = Array.from({ length: 20_000 }, (_, i) => keyHash(`user-${i}`));

function owners(ring: ReturnType<typeof buildRing<number>>): number[] {
  return keys.map((k) => ringPick(ring, k)!);
}

describe('consistent-hash rings', () => {
  it('hashes keys into 1..2^21-1, never 0 (no key)', () => {
    for (const k of keys) expect(k >= 1 && k <= KEY_MASK).toBe(true);
    expect(keyHash('user-1')).toBe(keyHash(new TextEncoder().encode('user-1')));
    expect(new Set(keys).size).toBeGreaterThan(19_800);
  });

  it('is ascending, the same whatever order the members come in, and within RING_MAX', () => {
    const a = buildRing(members(16), 16);
    const b = buildRing(members(16).reverse(), 16);
    expect(a).toEqual(b);
    expect(a.points.length).toBeLessThanOrEqual(RING_MAX);
    expect(a.points.length).toBeGreaterThan(240);
    expect([...a.points].sort((x, y) => x - y)).toEqual(a.points);
    expect(buildRing(members(16), 64).points.length).toBeLessThanOrEqual(RING_MAX);
  });

  it('moves only the leaving member\'s keys when one leaves', () => {
    const before = owners(buildRing(members(5), 16));
    const after = owners(buildRing(members(5).filter((m) => m.owner !== 102), 16));
    let moved = 0;
    before.forEach((o, i) => {
      if (o !== 102) expect(after[i]).toBe(o);
      else moved++;
    });
    // About a fifth of the keys were 102's, and only those moved.
    expect(moved / keys.length).toBeGreaterThan(0.08);
    expect(moved / keys.length).toBeLessThan(0.35);
  });

  it('gives members key shares that follow their weights', () => {
    const ms = members(3);
    ms[0]!.weight = 4;
    const got = owners(buildRing(ms, 64));
    const share = (o: number) => got.filter((x) => x === o).length / got.length;
    // 4:1:1 -> 2/3, 1/6, 1/6 with the spread 64 and 16 virtual nodes allow.
    expect(share(100)).toBeGreaterThan(0.5);
    expect(share(101)).toBeLessThan(0.3);
    expect(share(102)).toBeLessThan(0.3);
  });

  it('leaves out members of weight 0 and is empty without members', () => {
    const ms = members(2);
    ms[1]!.weight = 0;
    expect(new Set(buildRing(ms, 8).owners)).toEqual(new Set([100]));
    expect(buildRing([], 8)).toEqual({ points: [], owners: [] });
    expect(ringPick(buildRing([], 8), 5)).toBeUndefined();
  });
});
