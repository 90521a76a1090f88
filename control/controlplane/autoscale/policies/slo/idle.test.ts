import { describe, expect, it } from 'vitest';
import { IdleGaps } from './idle.js';

describe('IdleGaps', () => {
  it('holds for holdMs, or a little longer than the short gaps it has seen', () => {
    const g = new IdleGaps(10_000, 60_000);
    expect(g.holdForMs()).toBe(10_000);
    const gap = (from: number, ms: number) => {
      g.update(from, false);
      g.update(from + ms, true);
    };
    gap(0, 4000);
    expect(g.holdForMs()).toBe(10_000);
    gap(20_000, 12_000);
    expect(g.holdForMs()).toBe(15_000);
    // A long gap is an off period: it does not stretch the hold.
    gap(100_000, 200_000);
    expect(g.holdForMs()).toBe(15_000);
  });

  it('measures the idle time from the first idle sample', () => {
    const g = new IdleGaps(30_000, 60_000);
    g.update(1000, true);
    g.update(2000, false);
    g.update(3000, false);
    expect(g.idleForMs(5000)).toBe(3000);
    g.update(6000, true);
    expect(g.idleForMs(6000)).toBe(0);
  });
});
