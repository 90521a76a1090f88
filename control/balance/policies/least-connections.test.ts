import { describe, expect, it } from 'vitest';
import { checkBalance } from '../registry.js';
import { ONE_SLOW, ONE_SLOW_RATE, runFluid } from '../testdata/fluid.js';
import { leastConnections } from './least-connections.js';

const params = checkBalance({ policy: 'least-connections' }).spec!.params;

describe('least-connections', () => {
  it('gives the target holding more requests less, a step at a time', () => {
    const p = leastConnections(params);
    const tick = (inFlight: number[]) =>
      p.decide({
        nowMs: 0,
        tickMs: 250,
        targets: inFlight.map((n, i) => ({ id: `t${i}`, base: 1, arrivals: 1, completions: 1, inFlight: n, warm: true, load: { cpu: 0, mem: 0 }, instances: 1 })),
      }).shares;
    const first = tick([0, 0, 4]);
    expect(first[2]).toBeLessThan(first[0]!);
    // Half way from 1/3 toward 1/25 / (2 + 1/25) after one step.
    expect(first[2]).toBeCloseTo(0.5 / 3 + 0.5 * (1 / 25) / (2 + 1 / 25), 6);
    const later = [1, 2, 3, 4, 5].map(() => tick([0, 0, 4])).at(-1)!;
    expect(later[2]).toBeLessThan(first[2]!);
    expect(later[2]).toBeLessThan(0.03);
  });

  it('moves traffic off a slow target in a queueing model', () => {
    const run = runFluid(leastConnections(params), ONE_SLOW, { rate: ONE_SLOW_RATE, ticks: 60 });
    expect(run.shares.slow).toBeLessThan(0.2);
    expect(run.shares['fast-a']).toBeGreaterThan(0.35);
  });
});
