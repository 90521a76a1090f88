import { describe, expect, it } from 'vitest';
import { checkBalance } from '../registry.js';
import { ONE_SLOW, ONE_SLOW_RATE, runFluid, sample } from '../testdata/fluid.js';
import { epsilonGreedy } from './epsilon-greedy.js';

const params = (p: Record<string, number> = {}) => checkBalance({ policy: 'epsilon-greedy', params: p }).spec!.params;

describe('epsilon-greedy', () => {
  it('learns to send little to a slow target, keeping epsilon for exploring', () => {
    const run = runFluid(epsilonGreedy(params()), ONE_SLOW, { rate: ONE_SLOW_RATE, ticks: 120 });
    expect(run.shares.slow).toBeLessThan(0.15);
    // epsilon / 3 of the choice is always the slow target's.
    expect(run.shares.slow).toBeGreaterThan(0.02);
    const rr = runFluid(epsilonGreedy(params({ epsilon: 1 })), ONE_SLOW, { rate: ONE_SLOW_RATE, ticks: 120 });
    expect(rr.shares.slow).toBeCloseTo(1 / 3, 2);
    expect(run.meanLatencyMs).toBeLessThan(rr.meanLatencyMs / 2);
  });

  it('learns from warm executions only: a cold target is still untried', () => {
    const p = epsilonGreedy(params({ step: 0.99, epsilon: 0 }));
    const targets = [
      { id: 'warm', serviceMs: 5 },
      { id: 'cold', serviceMs: 500, warm: false },
    ];
    let d = p.decide({ nowMs: 0, tickMs: 250, targets: targets.map((t) => sample(t, 10, 250)) });
    // The cold target's awful latency taught nothing: it is tried as unseen.
    expect(d.reason).toMatch(/trying cold/);
    expect(d.shares[1]).toBeGreaterThan(0.9);
    // Once warm, its latency counts.
    targets[1]!.warm = true;
    for (let i = 0; i < 5; i++) d = p.decide({ nowMs: 0, tickMs: 250, targets: targets.map((t) => sample(t, 10, 250)) });
    expect(d.shares[1]).toBeLessThan(0.05);
  });
});
