/**
 * What holds for every registered policy, whatever it computes: the
 * autoscaler never answers more than scale.max or what the nodes can hold,
 * nor less than scale.min; it decides at once for a stage at zero with
 * requests waiting; each decision carries its rule and inputs and becomes
 * an event.
 */
import { describe, expect, it } from 'vitest';
import { ChainAutoscaler, boundVerdict, decisionEvent } from './autoscaler.js';
import { policies } from './registry.js';
import { observation, testChain, type StageState } from './testdata/chains.js';

const T0 = 3_000_000_000;
const overload: StageState = { ready: 2, inFlight: 100_000, arrivals: 1e7, serviceMs: { mean: 5, p50: 4, p99: 20 } };
const idle: StageState = { ready: 2 };

/** Runs a policy for `seconds` on one two-stage chain, feeding `state`. */
function run(name: string, seconds: number, state: (t: number) => StageState[], bounds = { min: 2, max: 5 }) {
  const chain = testChain([{ name: 'a', next: ['b'], ...bounds }, { name: 'b', ...bounds }], 50);
  const scaler = new ChainAutoscaler(chain, policies.create(chain, { name, params: {} }));
  const out = [];
  for (let t = 0; t < seconds; t++) {
    scaler.observe(observation(T0 + t * 1000, state(t)));
    out.push(...scaler.tick(T0 + t * 1000));
  }
  return out;
}

// The policies that decide counts (manual keeps what it is given: manual.test.ts).
describe.each(policies.names().filter((n) => n !== 'manual'))('policy %s within bounds', (name) => {
  it('never asks more than scale.max under any load', () => {
    const ds = run(name, 30, () => [overload, overload]);
    expect(ds.length).toBeGreaterThan(0);
    expect(Math.max(...ds.map((d) => d.desired))).toBe(5);
    expect(ds.filter((d) => d.desired === 5).every((d) => String(d.inputs['bound'] ?? 'scale.max 5').includes('scale.max'))).toBe(true);
  });

  it('never asks more than the nodes can hold when the input says so', () => {
    const ds = run(name, 30, () => [{ ...overload, capacity: 3 }, { ...overload, capacity: 0 }]);
    expect(ds.filter((d) => d.stage === 0).every((d) => d.desired <= 3)).toBe(true);
    expect(ds.filter((d) => d.stage === 1).every((d) => d.desired === 0)).toBe(true);
    expect(ds.find((d) => d.stage === 0 && d.desired === 3)?.message).toContain("bounded by the nodes' capacity 3");
  });

  it('never goes below scale.min, however idle', () => {
    const ds = run(name, 200, () => [idle, idle]);
    expect(Math.min(...ds.map((d) => d.desired))).toBe(2);
  });

  it('decides at once for a stage at zero with requests waiting', () => {
    const chain = testChain([{ name: 'a', min: 0, max: 4 }], 50);
    const scaler = new ChainAutoscaler(chain, policies.create(chain, { name, params: {} }));
    scaler.decide(T0); // a tick just happened: the next is not due for a while
    expect(scaler.tick(T0 + 100)).toEqual([]);
    expect(scaler.observe(observation(T0 + 100, [{ ready: 0, current: 0 }]))).toEqual([]);
    const poked = scaler.observe(observation(T0 + 200, [{ ready: 0, current: 0, held: { requests: 3, arrivalsPerSec: 30 } }]));
    expect(poked).toHaveLength(1);
    expect(poked[0]).toMatchObject({ policy: name, stageName: 'a', current: 0, desired: 1, changed: true });
  });
});

describe('ChainAutoscaler', () => {
  it('ticks at the policy\'s interval and reports each decision with its reason', () => {
    const ds = run('kpa', 10, () => [overload, idle]);
    expect(ds.map((d) => d.nowMs - T0).filter((_, i) => i % 2 === 0)).toEqual([0, 2000, 4000, 6000, 8000]);
    const d = ds.find((x) => x.stage === 0 && x.changed)!;
    expect(d.rule).toBe('panic');
    expect(d.inputs).toHaveProperty('panicConcurrency');
    const e = decisionEvent(d, { name: 'shop', tenant: 'acme' });
    expect(e).toMatchObject({ kind: 'autoscale-decision', chain: 'shop', tenant: 'acme', stage: 'a' });
    expect(e.message).toMatch(/^kpa panic: 2 -> 5: panic: /);
  });

  it('refuses a decision for a stage the chain does not have', () => {
    const chain = testChain([{ name: 'a' }]);
    const bogus = { name: 'bogus', tickMs: 1000, observe() {}, decide: () => [{ stage: 7, desired: 1, rule: 'x', message: '', inputs: {} }] };
    expect(() => new ChainAutoscaler(chain, bogus).decide(T0)).toThrow(/stage 7/);
  });
});

describe('boundVerdict', () => {
  const stage = testChain([{ name: 'a', min: 1, max: 8 }]).stages[0]!;
  const v = { stage: 0, desired: 0, rule: 'r', message: 'm', inputs: {} };
  it('leaves an answer inside the bounds alone', () => {
    expect(boundVerdict({ ...v, desired: 4 }, stage)).toEqual({ ...v, desired: 4 });
  });
  it('lifts to scale.min, cuts to scale.max or the capacity, and says which', () => {
    expect(boundVerdict(v, stage)).toMatchObject({ desired: 1, inputs: { asked: 0, bound: 'scale.min 1' } });
    expect(boundVerdict({ ...v, desired: 20 }, stage)).toMatchObject({ desired: 8, inputs: { bound: 'scale.max 8' } });
    expect(boundVerdict({ ...v, desired: 20 }, stage, 6.7)).toMatchObject({ desired: 6, inputs: { bound: "the nodes' capacity 6" } });
    // Capacity below scale.min wins: nothing can run what does not fit.
    expect(boundVerdict({ ...v, desired: 3 }, stage, 0)).toMatchObject({ desired: 0 });
    expect(boundVerdict({ ...v, desired: Number.NaN }, stage).desired).toBe(8);
  });
});
