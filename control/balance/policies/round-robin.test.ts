import { describe, expect, it } from 'vitest';
import type { TargetSample } from '../policy.js';
import { roundRobin } from './round-robin.js';

const t = (id: string, arrivals: number, base = 1): TargetSample => ({
  id, base, arrivals, completions: arrivals, inFlight: 0, warm: true, load: { cpu: 0, mem: 0 }, instances: 1,
});

describe('round-robin', () => {
  it('gives a target that fell behind more, and one ahead less, until the counts meet', () => {
    const p = roundRobin();
    const d = p.decide({ nowMs: 0, tickMs: 250, targets: [t('a', 12), t('b', 6), t('c', 6)] });
    expect(d.shares[0]).toBeLessThan(1);
    expect(d.shares[1]).toBeGreaterThan(1);
    expect(d.shares[1]).toBe(d.shares[2]);
    // Draws that follow the shares bring the totals level again.
    const totals = [12, 6, 6];
    let shares = d.shares;
    for (let i = 0; i < 5; i++) {
      const sum = shares.reduce((a, b) => a + b, 0);
      const got = shares.map((s) => (24 * s) / sum);
      got.forEach((g, j) => (totals[j]! += g));
      shares = p.decide({ nowMs: 0, tickMs: 250, targets: got.map((g, j) => t('abc'[j]!, g)) }).shares;
    }
    expect(Math.max(...totals) - Math.min(...totals)).toBeLessThan(1);
  });

  it('counts per unit of base weight, and starts a newcomer level with the rest', () => {
    const p = roundRobin();
    // b has twice a's weight and got twice the requests: both are on par.
    expect(p.decide({ nowMs: 0, tickMs: 250, targets: [t('a', 5), t('b', 10, 2)] }).shares).toEqual([1, 1]);
    // c joins: it is not owed everything the others served so far.
    const d = p.decide({ nowMs: 0, tickMs: 250, targets: [t('a', 5), t('b', 10, 2), t('c', 0)] });
    expect(d.shares[2]).toBeGreaterThan(1);
    expect(d.shares[2]).toBeLessThanOrEqual(3);
  });
});
