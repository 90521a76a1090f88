import { describe, expect, it } from 'vitest';
import { kpaPlugin } from './policies/kpa/kpa.js';
import { PolicyRegistry, policies } from './registry.js';
import { testChain } from './testdata/chains.js';

describe('policy registry', () => {
  it('has kpa, slo and manual', () => {
    expect(policies.names()).toEqual(['kpa', 'slo', 'manual']);
    expect(policies.get('kpa')?.defaults).toMatchObject({ targetConcurrency: 100, targetUtilization: 0.7, stableWindowMs: 60_000, panicWindowPercentage: 10, panicThresholdPercentage: 200, maxScaleUpRate: 1000, maxScaleDownRate: 2, scaleToZeroGraceMs: 30_000, tickMs: 2000 });
  });

  it('picks the chain\'s own choice, else a usable cluster default, else slo with an SLO and kpa without', () => {
    const withSlo = testChain([{ name: 'a' }], 50);
    const without = testChain([{ name: 'a' }]);
    const own = { name: 'kpa', params: { tickMs: 1000 } };
    expect(policies.choiceFor({ ...withSlo, scalePolicy: own }, { name: 'slo', params: {} })).toBe(own);
    expect(policies.choiceFor(withSlo, { name: 'kpa', params: {} })).toEqual({ name: 'kpa', params: {} });
    expect(policies.choiceFor(withSlo)).toEqual({ name: 'slo', params: {} });
    // A cluster default of slo cannot serve a chain without an SLO.
    expect(policies.choiceFor(without, { name: 'slo', params: {} })).toEqual({ name: 'kpa', params: {} });
  });

  it('creates a policy with the chain\'s parameters over the defaults', () => {
    const p = policies.create(testChain([{ name: 'a' }]), { name: 'kpa', params: { tickMs: 500 } });
    expect(p).toMatchObject({ name: 'kpa', tickMs: 500 });
    expect(() => policies.create(testChain([{ name: 'a' }]), { name: 'hpa', params: {} })).toThrow(/unknown autoscaling policy "hpa"/);
  });

  it('parses a name or a map, and refuses parameters outside Knative\'s ranges', () => {
    expect(policies.parse('kpa', false)).toEqual({ choice: { name: 'kpa', params: {} }, problems: [] });
    expect(policies.parse({ name: 'kpa', params: { maxScaleDownRate: 4 } }, false).choice).toEqual({ name: 'kpa', params: { maxScaleDownRate: 4 } });
    const bad = policies.parse({ name: 'kpa', params: { panicThresholdPercentage: 100, targetConcurrency: 0.01, targetUtilization: 0.5 } }, false);
    expect(bad.choice).toBeUndefined();
    expect(bad.problems.map((p) => p.path.join('.'))).toEqual(['params.panicThresholdPercentage']);
    // Each in range, but their product under Knative's minimum target.
    const low = policies.parse({ name: 'kpa', params: { targetConcurrency: 0.015, targetUtilization: 0.5 } }, false);
    expect(low.problems).toEqual([{ path: ['params', 'targetUtilization'], at: 'value', message: expect.stringContaining("below Knative's minimum target of 0.01") }]);
    expect(policies.parse(42, true).problems[0]?.message).toMatch(/expected a policy name/);
  });

  it('refuses two policies of one name', () => {
    expect(() => new PolicyRegistry([kpaPlugin, kpaPlugin])).toThrow(/two autoscaling policies are called "kpa"/);
  });
});
