import { describe, expect, it } from 'vitest';
import { instancesFor, poissonTail, responseP99Ms, scvFromQuantiles, throttleRisk } from './queueing.js';

describe('queueing model', () => {
  it('computes Poisson tails', () => {
    expect(poissonTail(1, 0)).toBeCloseTo(1 - Math.exp(-1), 12);
    expect(poissonTail(15, 20)).toBeCloseTo(0.0830, 3); // P(N > 20), N ~ Poisson(15)
    expect(poissonTail(0, 3)).toBe(0);
    expect(poissonTail(2, -1)).toBe(1);
  });

  it('is exact for M/M/1, where the response time is Exp(mu - lambda)', () => {
    // mu = 1000/s (1 ms): p99 = ln(100) / (mu - lambda).
    const service = { meanMs: 1, p99Ms: Math.log(100), scv: 1, cpuMs: 1 };
    for (const lambda of [0, 300, 500, 800, 950]) {
      expect(responseP99Ms({ lambda, service })).toBeCloseTo((Math.log(100) / (1000 - lambda)) * 1000, 9);
    }
  });

  it('takes about the service tail as the response tail at low load, heavy tail or light', () => {
    // Heavy-tailed service (p99 20 ms, mean 0.7 ms) at 5% utilisation.
    const heavy = responseP99Ms({ lambda: 70, service: { meanMs: 0.7, p99Ms: 20, scv: 10, cpuMs: 0.4 } });
    expect(heavy).toBeGreaterThanOrEqual(20);
    expect(heavy).toBeLessThan(22);
    // Light-tailed (p99 1.1 ms, mean 0.7 ms) at 1%: not 4.6 x the mean.
    expect(responseP99Ms({ lambda: 14, service: { meanMs: 0.7, p99Ms: 1.1, scv: 0.1, cpuMs: 0.4 } })).toBeLessThan(1.2);
  });

  it('cannot keep up at or past utilisation 1, and adds nothing to service when idle', () => {
    const service = { meanMs: 2, p99Ms: 5, scv: 0.5, cpuMs: 2 };
    expect(responseP99Ms({ lambda: 500, service })).toBe(Number.POSITIVE_INFINITY);
    expect(responseP99Ms({ lambda: 0, service })).toBe(5);
  });

  it('reads the variability of a lognormal service time from its quantiles', () => {
    // sigma = 0.5: p99 / p50 = e^(2.3263 x 0.5); Cs^2 = e^(0.25) - 1.
    expect(scvFromQuantiles(1, Math.exp(2.3263 * 0.5))).toBeCloseTo(Math.expm1(0.25), 6);
    expect(scvFromQuantiles(1, 1)).toBe(0);
    expect(scvFromQuantiles(0, 3)).toBe(0);
  });

  it('knows a whole CPU never throttles and a quota does', () => {
    const load = { lambda: 150, service: { meanMs: 0.5, p99Ms: 1, scv: 1, cpuMs: 0.5 } };
    expect(throttleRisk(load, { cpu: 1, periodMs: 100 })).toBe(0);
    expect(throttleRisk(load, { cpu: 0.1, periodMs: 100 })).toBeCloseTo(poissonTail(15, 20), 12);
  });

  it('sizes to the fewest instances that fit and says what bound it', () => {
    const service = { meanMs: 1, p99Ms: 3, scv: 1, cpuMs: 1 };
    const base = { service, budgetMs: 50, quota: { cpu: 1, periodMs: 100 }, maxThrottleRisk: 0.001, max: 16 };
    const one = instancesFor({ ...base, lambda: 100 });
    expect(one).toMatchObject({ count: 1, binding: 'latency' });
    const many = instancesFor({ ...base, lambda: 5000 });
    expect(many.binding).toBe('latency');
    expect(many.predictedP99Ms).toBeLessThanOrEqual(50);
    expect(responseP99Ms({ lambda: 5000 / (many.count - 1), service })).toBeGreaterThan(50);
    expect(instancesFor({ ...base, lambda: 1e6 })).toMatchObject({ count: 16, binding: 'saturated' });
    // A 100m quota: the period's stall (90 ms) would break a 50 ms budget.
    const light = { meanMs: 0.5, p99Ms: 1, scv: 1, cpuMs: 0.5 };
    const quota = instancesFor({ ...base, lambda: 150, service: light, quota: { cpu: 0.1, periodMs: 100 } });
    expect(quota).toMatchObject({ count: 2, binding: 'quota' });
    // With a budget the stall fits in, the quota only caps utilisation.
    const roomy = instancesFor({ ...base, lambda: 150, budgetMs: 500, service: light, quota: { cpu: 0.1, periodMs: 100 } });
    expect(roomy).toMatchObject({ count: 1, throttleRisk: 0 });
    // The quota is spent on CPU, not on time spent waiting: half the CPU, one instance holds it.
    expect(instancesFor({ ...base, lambda: 150, service: { ...light, cpuMs: 0.25 }, quota: { cpu: 0.1, periodMs: 100 } }).count).toBe(1);
    // A stage slower than its budget alone is sized to keep its queueing
    // under half its own p99, not sent to scale.max.
    const slow = instancesFor({ ...base, lambda: 100, budgetMs: 5, service: { meanMs: 2, p99Ms: 20, scv: 1, cpuMs: 2 } });
    expect(slow.count).toBeLessThan(16);
    expect(slow.predictedP99Ms).toBeLessThanOrEqual(30);
  });
});
