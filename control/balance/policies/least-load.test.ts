import { describe, expect, it } from 'vitest';
import type { TargetSample } from '../policy.js';
import { checkBalance } from '../registry.js';
import { ONE_SLOW, ONE_SLOW_RATE, runFluid } from '../testdata/fluid.js';
import { leastLoad, loadOf } from './least-load.js';

const params = checkBalance({ policy: 'least-load' }).spec!.params;
const t = (id: string, load: TargetSample['load']): TargetSample => ({
  id, base: 1, arrivals: 1, completions: 1, inFlight: 0, warm: true, load, instances: 1,
});

describe('least-load', () => {
  it('weighs CPU, memory and loadavg, giving loadavg\'s weight to CPU where there is none', () => {
    expect(loadOf(t('a', { cpu: 1, mem: 0, load1: 0 }), params)).toBeCloseTo(0.7, 6);
    expect(loadOf(t('a', { cpu: 1, mem: 0 }), params)).toBeCloseTo(0.8, 6);
    expect(loadOf(t('a', { cpu: 0, mem: 1 }), params)).toBeCloseTo(0.2, 6);
    expect(loadOf(t('a', { cpu: 0, mem: 0, load1: 4 }), params)).toBeCloseTo(0.1, 6);
  });

  it('gives the busier target less', () => {
    const p = leastLoad(params);
    let shares: number[] = [];
    for (let i = 0; i < 10; i++) shares = p.decide({ nowMs: 0, tickMs: 250, targets: [t('a', { cpu: 0.2, mem: 0.3 }), t('b', { cpu: 0.95, mem: 0.3 })] }).shares;
    expect(shares[1]).toBeLessThan(0.1);
    expect(shares[0]! + shares[1]!).toBeCloseTo(1, 9);
  });

  it('moves traffic off a slow target in a queueing model (its CPU is the busier)', () => {
    const run = runFluid(leastLoad(params), ONE_SLOW, { rate: ONE_SLOW_RATE, ticks: 60 });
    expect(run.shares.slow).toBeLessThan(0.25);
  });
});
