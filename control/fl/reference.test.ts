import { describe, expect, it } from 'vitest';
import { fedAvg, maxRelativeError, runRounds, stalenessWeight, updateWeight } from './reference.js';

describe('the offline FedAvg reference', () => {
  const base = Float32Array.from([1, 2, 3]);

  it('averages deltas by num-examples onto the base', () => {
    const got = fedAvg(base, [
      { delta: Float32Array.from([1, 0, 0]), numExamples: 3 },
      { delta: Float32Array.from([0, 4, 0]), numExamples: 1 },
    ], 'num-examples');
    expect([...got]).toEqual([1 + 3 / 4, 2 + 4 / 4, 3]);
  });

  it('weighs every update 1 under uniform, and a late one by 1/sqrt(1+s)', () => {
    expect(updateWeight(50, 'uniform')).toBe(1);
    expect(updateWeight(50, 'num-examples', 3)).toBeCloseTo(25, 12);
    expect(stalenessWeight(0)).toBe(1);
    const got = fedAvg(base, [
      { delta: Float32Array.from([2, 2, 2]), numExamples: 10 },
      { delta: Float32Array.from([0, 0, 0]), numExamples: 99, staleness: 1 },
    ], 'uniform');
    const w = 1 / Math.sqrt(2);
    expect(got[0]).toBeCloseTo(1 + 2 / (1 + w), 12);
  });

  it('keeps the base for a round with no updates, and carries a failed round forward', () => {
    expect([...fedAvg(base, [], 'uniform')]).toEqual([1, 2, 3]);
    const models = runRounds(base, [[{ delta: Float32Array.from([1, 1, 1]), numExamples: 1 }], null], 'uniform');
    expect(models).toHaveLength(3);
    expect(models[2]).toBe(models[1]);
    expect([...models[1]!]).toEqual([2, 3, 4]);
  });

  it('refuses a delta of the wrong size, and measures errors relative to the values', () => {
    expect(() => fedAvg(base, [{ delta: new Float32Array(2), numExamples: 1 }], 'uniform')).toThrow(/2 values, the model 3/);
    expect(maxRelativeError([1, 2, 4.001], [1, 2, 4])).toEqual({ error: expect.closeTo(0.00025, 8), at: 2 });
    expect(maxRelativeError([1, NaN], [1, 2]).at).toBe(1);
  });
});
