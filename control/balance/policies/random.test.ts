import { describe, expect, it } from 'vitest';
import { ONE_SLOW, ONE_SLOW_RATE, runFluid, sample } from '../testdata/fluid.js';
import { random } from './random.js';

describe('random', () => {
  it('leaves the base weights as they are, whatever it measures', () => {
    const p = random();
    const d = p.decide({ nowMs: 0, tickMs: 250, targets: ONE_SLOW.map((t, i) => sample(t, 80 * (i + 1), 250)) });
    expect(d.shares).toEqual([1, 1, 1]);
    // So a slow target keeps its third of the traffic.
    const run = runFluid(random(), ONE_SLOW, { rate: ONE_SLOW_RATE, ticks: 40 });
    expect(run.shares.slow).toBeCloseTo(1 / 3, 6);
  });
});
