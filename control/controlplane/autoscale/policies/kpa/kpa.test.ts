/**
 * The kpa policy against Knative's semantics, one sample a second and a
 * decision every 2 s, instances ready the moment they are asked for (what
 * is tested is the decider, not start-up).
 */
import { describe, expect, it } from 'vitest';
import type { StageVerdict } from '../../policy.js';
import { observation, testChain, type StageState } from '../../testdata/chains.js';
import { KPA_DEFAULTS, kpaPlugin } from './kpa.js';

const T0 = 1_000_000_000;

/** Drives a one-stage kpa for `seconds`; load(t, count) gives what the
 * stage holds at second t when `count` instances run. Decisions are
 * applied at once. Returns every decision with its second. */
function drive(seconds: number, load: (t: number, count: number) => Omit<StageState, 'ready'>, opts: { min?: number; max?: number; start?: number; params?: Record<string, number> } = {}) {
  const chain = testChain([{ name: 'a', min: opts.min ?? 1, max: opts.max ?? 16 }]);
  const policy = kpaPlugin.create(chain, { ...KPA_DEFAULTS, ...opts.params });
  let count = opts.start ?? 1;
  const log: (StageVerdict & { t: number; count: number })[] = [];
  for (let t = 0; t < seconds; t++) {
    const now = T0 + t * 1000;
    policy.observe(observation(now, [{ ready: count, ...load(t, count) }]));
    if (t % 2 === 0) {
      const v = policy.decide(now)[0] as StageVerdict;
      log.push({ ...v, t, count });
      count = v.desired;
    }
  }
  return log;
}

describe('kpa', () => {
  it('panics on a step: scales up within the 6 s panic window, not the 60 s stable one', () => {
    // 10 in flight for a minute (1 instance is plenty at 70 each), then 350.
    const log = drive(90, (t) => ({ inFlight: t < 60 ? 10 : 350 }));
    const before = log.filter((d) => d.t < 60);
    expect(before.every((d) => d.desired === 1 && d.rule === 'stable')).toBe(true);
    const firstPanic = log.find((d) => d.rule === 'panic');
    expect(firstPanic, JSON.stringify(log.slice(28, 36))).toBeDefined();
    expect(firstPanic!.t).toBeLessThanOrEqual(62);
    expect(firstPanic!.inputs['panicking']).toBe(true);
    // Once the panic window is full of the step: ceil(350 / 70) = 5.
    expect(log.find((d) => d.t === 66)?.desired).toBe(5);
    // The stable window alone would still ask far less at that point.
    expect(Number(log.find((d) => d.t === 66)?.inputs['stableDesired'])).toBeLessThan(5);
  });

  it('does not scale down while panicking, and leaves panic a stable window after the surge', () => {
    // A 10 s surge of 700 in flight on 1 instance, then back to 10.
    const log = drive(200, (t) => ({ inFlight: t >= 60 && t < 70 ? 700 : 10 }));
    const peak = Math.max(...log.map((d) => d.desired));
    expect(peak).toBe(10);
    const peakAt = log.find((d) => d.desired === peak)!.t;
    const lastOver = Math.max(...log.filter((d) => d.rule === 'panic' && Number(d.inputs['panicDesired']) / Math.max(1, d.count) >= 2).map((d) => d.t));
    // In panic the count never falls, though concurrency fell at t = 70.
    for (const d of log.filter((x) => x.t > peakAt && x.rule === 'panic')) expect(d.desired).toBe(peak);
    // Panic ends only after a stable window (60 s) past the last time over the threshold.
    const firstStable = log.find((d) => d.t > peakAt && d.rule === 'stable')!;
    expect(firstStable.t).toBeGreaterThan(lastOver + 60);
    expect(firstStable.t).toBeLessThanOrEqual(lastOver + 64);
  });

  it('follows the 60 s stable average down, not the momentary concurrency', () => {
    // 10 instances busy at 70 each for a minute, then nothing in flight.
    const log = drive(130, (t) => ({ inFlight: t < 60 ? 700 : 0 }), { start: 10 });
    expect(log.find((d) => d.t === 58)?.desired).toBe(10);
    // Two seconds after the drop the 60 s average still wants 10 ...
    expect(log.find((d) => d.t === 62)).toMatchObject({ desired: 10, rule: 'stable' });
    // ... and half a window later half of it: 29 s of 700 over 60 s -> 5.
    expect(log.find((d) => d.t === 90)).toMatchObject({ desired: 5, rule: 'stable' });
    expect(Number(log.find((d) => d.t === 90)?.inputs['stableConcurrency'])).toBeCloseTo((29 * 700) / 60, 4);
    expect(log.find((d) => d.t === 124)?.desired).toBe(1);
  });

  it('starts in panic above one instance, then scales down at most by maxScaleDownRate (2) per decision', () => {
    // 10 instances where 1 would do (70 in flight in all): a new decider
    // holds them for a stable window (newAutoscaler's initial panic), then
    // the stable window wants 1 but each decision may only halve.
    const log = drive(80, () => ({ inFlight: 70 }), { start: 10 });
    expect(log.filter((d) => d.t <= 60).every((d) => d.desired === 10 && d.rule === 'panic')).toBe(true);
    const down = log.filter((d) => d.desired < d.count).map((d) => [d.t, d.count, d.desired, Number(d.inputs['stableDesired'])]);
    expect(down).toEqual([
      [62, 10, 5, 1],
      [64, 5, 2, 1],
      [66, 2, 1, 1],
    ]);
  });

  it('scales to zero only after a stable window idle, inactive, and the 30 s grace', () => {
    const log = drive(200, (t) => ({ inFlight: t < 20 ? 5 : 0 }), { min: 0 });
    const zero = log.find((d) => d.desired === 0)!;
    expect(zero.rule).toBe('scale-to-zero');
    // Idle from t = 20: the stable average reaches 0 at t = 80, inactive then, zero 30 s later.
    expect(zero.t).toBeGreaterThanOrEqual(20 + 60 + 30);
    expect(zero.t).toBeLessThanOrEqual(20 + 60 + 30 + 4);
    const waits = log.filter((d) => d.rule === 'scale-to-zero-wait');
    expect(waits.length).toBeGreaterThan(10);
    expect(waits.every((d) => d.desired === 1)).toBe(true);
    expect(log.filter((d) => d.t > zero.t).every((d) => d.desired === 0)).toBe(true);
  });

  it('never scales to zero when scale.min is 1', () => {
    const log = drive(200, (t) => ({ inFlight: t < 20 ? 5 : 0 }), { min: 1 });
    expect(log.every((d) => d.desired >= 1)).toBe(true);
  });

  it('comes back from zero on the requests the gateway holds', () => {
    const log = drive(150, (t) => ({ held: t >= 120 ? { requests: 3, arrivalsPerSec: 3 } : { requests: 0, arrivalsPerSec: 0 } }), { min: 0, start: 0 });
    // A new, idle stage: 1 for the first stable window, then inactive, then zero after the grace.
    expect(log.find((d) => d.t === 2)).toMatchObject({ desired: 1, rule: 'scale-to-zero-wait' });
    expect(log.find((d) => d.t === 118)).toMatchObject({ desired: 0, rule: 'scale-to-zero' });
    expect(log.find((d) => d.t === 120)).toMatchObject({ desired: 1, rule: 'stable' });
  });

  it('says why it keeps the count when it has no samples', () => {
    const policy = kpaPlugin.create(testChain([{ name: 'a' }]), KPA_DEFAULTS);
    expect(policy.decide(T0)[0]).toMatchObject({ desired: 0, rule: 'no-data' });
  });
});
