import { describe, expect, it } from 'vitest';
import { checkBalance } from '../registry.js';
import { ONE_SLOW, ONE_SLOW_RATE, runFluid, sample } from '../testdata/fluid.js';
import { random } from './random.js';
import { ucb1 } from './ucb1.js';

const params = (p: Record<string, number> = {}) => checkBalance({ policy: 'ucb1', params: p }).spec!.params;

describe('ucb1', () => {
  it('learns to send little to a slow target and lowers the mean latency', () => {
    const run = runFluid(ucb1(params()), ONE_SLOW, { rate: ONE_SLOW_RATE, ticks: 120 });
    expect(run.shares.slow).toBeLessThan(0.1);
    expect(run.shares['fast-a']).toBeGreaterThan(0.3);
    expect(run.shares['fast-b']).toBeGreaterThan(0.3);
    const base = runFluid(random(), ONE_SLOW, { rate: ONE_SLOW_RATE, ticks: 120 });
    expect(run.meanLatencyMs).toBeLessThan(base.meanLatencyMs / 2);
  });

  it('tries a target again once it has gone unobserved for long', () => {
    const p = ucb1(params({ step: 0.99 }));
    const fast = { id: 'fast', serviceMs: 4 };
    const slow = { id: 'slow', serviceMs: 12 };
    let d = p.decide({ nowMs: 0, tickMs: 250, targets: [sample(fast, 50, 250), sample(slow, 50, 250)] });
    for (let i = 0; i < 20; i++) d = p.decide({ nowMs: 0, tickMs: 250, targets: [sample(fast, 50, 250), sample(slow, 50, 250)] });
    expect(d.shares[1]).toBeLessThan(0.05);
    // No completions from slow (it gets nothing): its count decays, its bonus grows.
    let tries = 0;
    for (let i = 0; i < 200 && tries === 0; i++) {
      d = p.decide({ nowMs: 0, tickMs: 250, targets: [sample(fast, 50, 250), sample(slow, 0, 250)] });
      if (d.shares[1]! > 0.5) tries = i;
    }
    expect(tries).toBeGreaterThan(0);
  });

  it('with c = 0 it only exploits: two equal targets share, a slower one starves', () => {
    const run = runFluid(ucb1(params({ c: 0 })), ONE_SLOW, { rate: ONE_SLOW_RATE, ticks: 120 });
    expect(run.shares.slow).toBeLessThan(0.05);
  });
});
