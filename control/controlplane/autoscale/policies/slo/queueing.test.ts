import { describe, expect, it } from 'vitest';
import { instancesFor, poissonTail, responseP99Ms, scvFromQuantiles, throttleRisk } from './queueing.js';

describe('queueing model', () => {
  it('computes Poisson tails', () => {
    expect(poissonTail(1, 0)).toBeCloseTo(1 - Math.exp(-1), 12);
    expect(poissonTail(15, 20)).toBeCloseTo(0.0830, 3); // P(N > 20), N ~ Poisson(15)
    expect(poissonTail(0, 3)).toBe(0);
    expect(poissonTail(2, -1)).toBe(1);
  });

  it('is exact for M/M/1: P(W > t) = rho e^-(mu - lambda) t', () => {
    // mu = 1000/s (1 ms), lambda = 800/s: W99 = ln(0.8 / 0.01) / 200 s.
    const service = { meanMs: 1, p99Ms: Math.log(100), scv: 1 };
    const wait99 = (Math.log(0.8 / 0.01) / 200) * 1000;
    expect(responseP99Ms({ lambda: 800, service })).toBeCloseTo(wait99 + service.p99Ms, 9);
  });

  it('cannot keep up at or past utilisation 1, and adds nothing to service when idle', () => {
    const service = { meanMs: 2, p99Ms: 5, scv: 0.5 };
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
    const load = { lambda: 150, service: { meanMs: 0.5, p99Ms: 1, scv: 1 } };
    expect(throttleRisk(load, { cpu: 1, periodMs: 100 })).toBe(0);
    expect(throttleRisk(load, { cpu: 0.1, periodMs: 100 })).toBeCloseTo(poissonTail(15, 20), 12);
  });

  it('sizes to the fewest instances that fit and says what bound it', () => {
    const service = { meanMs: 1, p99Ms: 3, scv: 1 };
    const base = { service, budgetMs: 50, quota: { cpu: 1, periodMs: 100 }, maxThrottleRisk: 0.001, max: 16 };
    const one = instancesFor({ ...base, lambda: 100 });
    expect(one).toMatchObject({ count: 1, binding: 'latency' });
    const many = instancesFor({ ...base, lambda: 5000 });
    expect(many.binding).toBe('latency');
    expect(many.predictedP99Ms).toBeLessThanOrEqual(50);
    expect(responseP99Ms({ lambda: 5000 / (many.count - 1), service })).toBeGreaterThan(50);
    expect(instancesFor({ ...base, lambda: 1e6 })).toMatchObject({ count: 16, binding: 'saturated' });
    // A 100m quota: the period's stall (90 ms) would break a 50 ms budget.
    const quota = instancesFor({ ...base, lambda: 150, service: { meanMs: 0.5, p99Ms: 1, scv: 1 }, quota: { cpu: 0.1, periodMs: 100 } });
    expect(quota).toMatchObject({ count: 2, binding: 'quota' });
    // With a budget the stall fits in, the quota only caps utilisation.
    const roomy = instancesFor({ ...base, lambda: 150, budgetMs: 500, service: { meanMs: 0.5, p99Ms: 1, scv: 1 }, quota: { cpu: 0.1, periodMs: 100 } });
    expect(roomy).toMatchObject({ count: 1, throttleRisk: 0 });
  });
});
