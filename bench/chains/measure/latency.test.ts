import { describe, expect, it } from 'vitest';
import { CDF_QUANTILES, summariseLatencies } from './latency.js';

describe('summariseLatencies', () => {
  it('reads nearest-rank percentiles of 1..1000 ms and a CDF rising to the max', () => {
    const ms = Array.from({ length: 1000 }, (_, i) => 1000 - i); // unsorted on purpose
    const s = summariseLatencies(ms);
    expect([s.count, s.p50Ms, s.p99Ms, s.p999Ms, s.maxMs]).toEqual([1000, 500, 990, 999, 1000]);
    expect(s.cdf.length).toBe(CDF_QUANTILES.length);
    expect(s.cdf.at(-1)).toEqual([1, 1000]);
    for (let i = 1; i < s.cdf.length; i++) {
      expect(s.cdf[i]![0]).toBeGreaterThan(s.cdf[i - 1]![0]);
      expect(s.cdf[i]![1]).toBeGreaterThanOrEqual(s.cdf[i - 1]![1]);
    }
  });

  it('leaves unanswered requests (NaN) out and gives NaN for nothing at all', () => {
    expect(summariseLatencies([NaN, 2, 4]).count).toBe(2);
    const none = summariseLatencies([NaN]);
    expect(none.count).toBe(0);
    expect(Number.isNaN(none.p99Ms)).toBe(true);
    expect(none.cdf).toEqual([]);
  });
});
