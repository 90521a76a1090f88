import { describe, expect, it } from 'vitest';
import type { InstanceSignals } from '../../../signals/signals.js';
import { ServiceEstimate } from './service.js';

const inst = (completions: number, mean: number, p50: number, p99: number, cpuMsPerSec = completions * mean): InstanceSignals => ({
  id: 1,
  node: 'n',
  ready: true,
  inFlight: 0,
  arrivalsPerSec: completions,
  completionsPerSec: completions,
  serviceMs: { mean, p50, p99 },
  cpuMsPerSec,
});

describe('ServiceEstimate', () => {
  it('starts at the prior and converges on what the instances report', () => {
    const e = new ServiceEstimate({ meanMs: 1, p99Ms: 5, scv: 1, cpuMs: 1 });
    expect(e.model.meanMs).toBe(1);
    for (let i = 0; i < 100; i++) e.update([inst(50, 2, 1.5, 8), inst(50, 4, 2.5, 12)]);
    expect(e.model.meanMs).toBeCloseTo(3, 6);
    expect(e.model.p99Ms).toBeCloseTo(10, 6);
  });

  it('moves little on an interval with few completions, and not at all on one with none', () => {
    const e = new ServiceEstimate({ meanMs: 1, p99Ms: 5, scv: 1, cpuMs: 1 });
    e.update([inst(0, 100, 100, 100)]);
    expect(e.model.meanMs).toBe(1);
    e.update([inst(1, 101, 101, 101)]);
    expect(e.model.meanMs).toBeCloseTo(1 + 0.01 * 100, 6); // 0.2 x 1/20 of the way
  });

  it('takes the CPU a request uses from the CPU signals over the completions, not from the service time', () => {
    const e = new ServiceEstimate({ meanMs: 1, p99Ms: 5, scv: 1, cpuMs: 1 });
    // 200 completions a second, 40 ms of CPU a second: 0.2 ms each, whatever the service tail.
    for (let i = 0; i < 100; i++) e.update([inst(100, 3, 0.5, 40, 20), inst(100, 3, 0.5, 40, 20)]);
    expect(e.model.cpuMs).toBeCloseTo(0.2, 6);
    expect(e.model.meanMs).toBeCloseTo(3, 6);
  });
});
