import { describe, expect, it } from 'vitest';
import { stageBudgets } from './budget.js';

describe('stageBudgets', () => {
  it('splits a path in proportion to service p99 and gives a shared stage its tightest share', () => {
    // 0 -> 1 and 0 -> 2 -> 3; p99: 1, 4, 1, 2 ms; SLO 40 ms.
    const p99 = [1, 4, 1, 2];
    const b = stageBudgets(40, [[0, 1], [0, 2, 3]], 4, (s) => p99[s] ?? 0);
    expect(b[1]).toBeCloseTo(32, 9); // 40 x 4/5
    expect(b[2]).toBeCloseTo(10, 9); // 40 x 1/4
    expect(b[3]).toBeCloseTo(20, 9);
    expect(b[0]).toBeCloseTo(8, 9); // min(40 x 1/5, 40 x 1/4)
    // Every path's budgets sum to at most the SLO.
    expect((b[0] ?? 0) + (b[1] ?? 0)).toBeLessThanOrEqual(40);
    expect((b[0] ?? 0) + (b[2] ?? 0) + (b[3] ?? 0)).toBeLessThanOrEqual(40);
  });

  it('gives a stage on no path the whole SLO', () => {
    expect(stageBudgets(50, [[0]], 2, () => 1)).toEqual([50, 50]);
  });
});
