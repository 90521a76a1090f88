/**
 * The simulator on cases worked out by hand, with stand-in policies that
 * ask fixed counts (named as such), a one-stage chain and a made-up
 * profile: what it counts (violation seconds, instance-seconds, cold
 * starts, held requests) must be exactly what happened.
 */
import { describe, expect, it } from 'vitest';
import type { AutoscalePolicy, StageVerdict } from '../../../control/controlplane/autoscale/policy.js';
import { policies } from '../../../control/controlplane/autoscale/registry.js';
import { testChain } from '../../../control/controlplane/autoscale/testdata/chains.js';
import type { ChainProfile } from '../profile.js';
import { simulate } from './simulate.js';

const chain = (sloMs: number, min = 1, cpuMilli = 1000) => testChain([{ name: 'a', min, max: 4, cpuMilli }], sloMs);

/** Every request costs exactly serviceMs; an instance starts in coldMs. */
function profile(serviceMs: number, coldMs: number): ChainProfile {
  return {
    chain: 'test',
    file: 'test.yaml',
    measuredAt: '',
    host: { cpus: 1, loadavgBefore: [], loadavgAfter: [], mode: 'sim', sandbox: 'off' },
    method: 'made up for the test',
    echoMs: [0],
    cpuMs: { a: serviceMs },
    cpuWaitMs: { a: 0 },
    requests: [{ name: 'r', stages: ['a'], serviceMs: { a: [serviceMs] }, endToEndMs: [serviceMs] }],
    coldStarts: { a: { readyMs: [coldMs], firstRequestMs: [0], coldStartMs: [coldMs] } },
  };
}

/** A stand-in policy: the count asked at each second comes from `count`. */
function scripted(count: (second: number) => number): AutoscalePolicy {
  return {
    name: 'scripted',
    tickMs: 1000,
    observe() {},
    decide: (now): StageVerdict[] => [{ stage: 0, desired: count(Math.floor(now / 1000)), rule: 'script', message: '', inputs: {} }],
  };
}

const steady = (perSec: number, seconds: number) => ({ name: 'steady', counts: new Array<number>(seconds).fill(perSec) });

describe('simulate', () => {
  it('counts a stable single instance: no violation, one instance for the whole trace', () => {
    const r = simulate({ ir: chain(1000), profile: profile(10, 100), trace: steady(50, 20), policy: scripted(() => 1), seed: 1 });
    expect(r).toMatchObject({ requests: 1000, sloViolationSeconds: 0, instanceSeconds: 20, coldStarts: 0, heldRequests: 0, timeouts: 0, unfinished: 0 });
    expect(r.p50Ms).toBeGreaterThanOrEqual(10);
  });

  it('counts every second of an overload as a violation', () => {
    // 200 req/s of 10 ms on one instance: twice what it can do, the queue only grows.
    const r = simulate({ ir: chain(50), profile: profile(10, 100), trace: steady(200, 10), policy: scripted(() => 1), seed: 1 });
    expect(r.sloViolationSeconds).toBe(10);
    expect(r.p99Ms).toBeGreaterThan(4000);
  });

  it('applies the CPU quota: 100m turns a comfortable load into stalls', () => {
    // 5 req/s x 15 ms: 7.5% of a CPU, but a request needs more than the 10 ms a period allows.
    const free = simulate({ ir: chain(50, 1, 1000), profile: profile(15, 100), trace: steady(5, 20), policy: scripted(() => 1), seed: 1 });
    const capped = simulate({ ir: chain(50, 1, 100), profile: profile(15, 100), trace: steady(5, 20), policy: scripted(() => 1), seed: 1 });
    expect(free.sloViolationSeconds).toBe(0);
    expect(capped.p50Ms).toBeGreaterThan(90); // every request waits out a period
    expect(capped.sloViolationSeconds).toBe(20);
  });

  it('holds requests for a stage at zero until a new instance has started', () => {
    // Zero from second 2 to 5, one again from 5: a cold start of 300 ms.
    const r = simulate({ ir: chain(1000, 0), profile: profile(1, 300), trace: steady(10, 10), policy: scripted((s) => (s >= 2 && s < 5 ? 0 : 1)), seed: 1 });
    expect(r.coldStarts).toBe(1);
    // Seconds 2, 3 and 4, and those of the 300 ms the new instance took.
    expect(r.heldRequests).toBeGreaterThanOrEqual(31);
    expect(r.heldRequests).toBeLessThanOrEqual(36);
    expect(r.unfinished).toBe(0);
    // The first held request waited about three seconds and the cold start.
    expect(r.p99Ms).toBeGreaterThan(2000);
    // 2 s + 5 s of one instance, and its 300 ms start counts too.
    expect(r.instanceSeconds).toBe(7);
  });

  it('stops a removed instance only when its queue is empty', () => {
    const r = simulate({ ir: chain(100_000), profile: profile(10, 0), trace: steady(150, 4), policy: scripted((s) => (s < 2 ? 2 : 1)), seed: 1 });
    expect(r.requests).toBe(600);
    expect(r.unfinished).toBe(0);
  });

  it('is the same run for the same seed', () => {
    const run = () => simulate({ ir: chain(20), profile: profile(5, 200), trace: steady(150, 30), policy: policies.create(chain(20), { name: 'slo', params: {} }), seed: 3 });
    expect(run()).toEqual(run());
  });

  it('drives the real policies', () => {
    // manual decides nothing by design (run.ts leaves it out of comparisons too).
    for (const name of policies.names().filter((n) => n !== 'manual')) {
      const r = simulate({ ir: chain(50), profile: profile(5, 200), trace: steady(300, 30), policy: policies.create(chain(50), { name, params: {} }), seed: 1 });
      expect(r.policy).toBe(name);
      expect(r.requests).toBe(9000);
      expect(r.decisions).toBeGreaterThan(0); // 300 x 5 ms needs two instances at least
    }
  });
});
