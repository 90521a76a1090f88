import { describe, expect, it } from 'vitest';
import type { TargetSample } from '../policy.js';
import { checkBalance } from '../registry.js';
import { ONE_SLOW, ONE_SLOW_RATE, runFluid } from '../testdata/fluid.js';
import { inverse, quadratic, solve } from './linalg.js';
import { clampToSeen, linucb } from './linucb.js';

const params = (p: Record<string, number> = {}) => checkBalance({ policy: 'linucb', params: p }).spec!.params;
const t = (id: string, latencyMs: number, cpu: number, mem = 0.3): TargetSample => ({
  id, base: 1, arrivals: 10, completions: 10, inFlight: 1, latencyMs, warm: true, load: { cpu, mem }, instances: 1,
});

describe('linucb', () => {
  it('learns to send little to a slow target in a queueing model', () => {
    const run = runFluid(linucb(params()), ONE_SLOW, { rate: ONE_SLOW_RATE, ticks: 120 });
    expect(run.shares.slow).toBeLessThan(0.1);
    expect(run.shares['fast-a']).toBeGreaterThan(0.3);
  });

  it('uses the context: a target that is slow when its CPU is busy is avoided then, and chosen when idle', () => {
    const p = linucb(params({ step: 0.99, gamma: 1 }));
    // a: 2 ms when idle, 60 ms when busy; b: always 10 ms at moderate CPU.
    for (let i = 0; i < 60; i++) {
      const busy = i % 2 === 0;
      p.decide({ nowMs: 0, tickMs: 250, targets: [t('a', busy ? 60 : 2, busy ? 0.9 : 0.1), t('b', 10, 0.5)] });
    }
    const busyNow = p.decide({ nowMs: 0, tickMs: 250, targets: [t('a', 60, 0.9), t('b', 10, 0.5)] });
    expect(busyNow.shares[1]).toBeGreaterThan(0.9);
    const idleNow = p.decide({ nowMs: 0, tickMs: 250, targets: [t('a', 2, 0.1), t('b', 10, 0.5)] });
    expect(idleNow.shares[0]).toBeGreaterThan(0.9);
  });

  it('holds memory pressure against a target: lambda x the penalty above the threshold', () => {
    const run = (lambda: number) => {
      const p = linucb(params({ lambda, step: 0.5 }));
      let s: number[] = [];
      for (let i = 0; i < 40; i++) s = p.decide({ nowMs: 0, tickMs: 250, targets: [t('roomy', 10, 0.5, 0.3), t('tight', 9, 0.5, 0.98)] }).shares;
      return s;
    };
    // Without the penalty the slightly faster but memory-starved target wins...
    expect(run(0)[1]).toBeGreaterThan(0.9);
    // ...with it, the one with room does.
    expect(run(1)[0]).toBeGreaterThan(0.9);
  });

  it('does not extrapolate to a CPU an arm was never seen at: a slow arm starved of traffic is not promised an idle miracle', () => {
    const p = linucb(params({ step: 0.99, gamma: 1 }));
    // slow is only ever observed busy (60..90% CPU) and slow; fast at 30%.
    for (let i = 0; i < 40; i++)
      p.decide({ nowMs: 0, tickMs: 250, targets: [t('fast', 3, 0.3), t('slow', [10, 30, 80][i % 3]!, 0.6 + 0.15 * (i % 3))] });
    // Starved, slow's CPU drops to 0; a line through its busy points would
    // predict a great reward there, the clamped context does not.
    const d = p.decide({ nowMs: 0, tickMs: 250, targets: [t('fast', 3, 0.3), { ...t('slow', 20, 0.02), completions: 0, latencyMs: undefined }] });
    expect(d.shares[0]).toBeGreaterThan(0.9);
    expect(clampToSeen([1, 0.02, 0.3], [[1, 0.6, 0.3], [1, 0.9, 0.5]])).toEqual([1, 0.6, 0.3]);
    expect(clampToSeen([1, 0.5], [])).toEqual([1, 0.5]);
  });

  it('solves its small linear systems', () => {
    const A = [
      [4, 1, 0],
      [1, 3, 1],
      [0, 1, 2],
    ];
    const x = solve(A, [1, 2, 3]);
    const back = A.map((row) => row.reduce((s, v, j) => s + v * x[j]!, 0));
    back.forEach((v, i) => expect(v).toBeCloseTo([1, 2, 3][i]!, 9));
    expect(quadratic(inverse([[2, 0, 0], [0, 2, 0], [0, 0, 2]]), [1, 1, 1])).toBeCloseTo(1.5, 9);
    expect(() => inverse([[1, 1], [1, 1]])).toThrow(/singular/);
  });
});
