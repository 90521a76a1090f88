/**
 * The slo policy on controlled inputs: one sample and one decision a
 * second, decisions applied at once, a new instance ready 2 s after it was
 * asked for (a cold start the policy must learn), against a 50 ms SLO
 * unless said.
 */
import { describe, expect, it } from 'vitest';
import type { StageVerdict } from '../../policy.js';
import { observation, testChain, type StageDef, type StageState } from '../../testdata/chains.js';
import { SLO_DEFAULTS, sloPlugin } from './slo.js';

const T0 = 2_000_000_000;
const SERVICE = { mean: 2, p50: 1.6, p99: 6 };

const COLD_START_S = 2;

function drive(seconds: number, load: (t: number, count: number) => Omit<StageState, 'ready'>, opts: { stage?: Partial<StageDef>; sloMs?: number; start?: number } = {}) {
  const chain = testChain([{ name: 'a', max: 16, ...opts.stage }], opts.sloMs ?? 50);
  const policy = sloPlugin.create(chain, SLO_DEFAULTS);
  const start = opts.start ?? 1;
  let count = start;
  const asked: number[] = [];
  const log: (StageVerdict & { t: number; count: number })[] = [];
  for (let t = 0; t < seconds; t++) {
    const now = T0 + t * 1000;
    // Ready: what was asked COLD_START_S ago, or less if asked down since.
    const ready = Math.min(count, asked[t - COLD_START_S] ?? start);
    asked[t] = count;
    policy.observe(observation(now, [{ current: count, ready, serviceMs: SERVICE, ...load(t, count) }]));
    const v = policy.decide(now)[0] as StageVerdict;
    log.push({ ...v, t, count });
    count = v.desired;
  }
  return log;
}

describe('slo', () => {
  it('scales up ahead of a forecast rise', () => {
    // Arrivals climb 100 req/s every second for 40 s.
    const log = drive(40, (t) => ({ arrivals: 100 + 100 * t }));
    const ahead = log.filter((d) => d.rule === 'forecast');
    expect(ahead.length).toBeGreaterThanOrEqual(3);
    for (const d of ahead) {
      expect(d.desired).toBeGreaterThan(Number(d.inputs['neededNow']));
      expect(Number(d.inputs['lambdaForecast'])).toBeGreaterThan(Number(d.inputs['lambdaNow']));
    }
    // A flat load of the same size is met, not anticipated.
    const flat = drive(40, () => ({ arrivals: 3000 }));
    expect(flat.some((d) => d.rule === 'forecast')).toBe(false);
    expect(flat.at(-1)?.desired).toBe(Number(flat.at(-1)?.inputs['neededNow']));
  });

  it('gives the fewest instances whose predicted p99 fits, and more as the load grows', () => {
    const at = (rate: number) => drive(20, () => ({ arrivals: rate })).at(-1)!;
    const low = at(100);
    const high = at(3000);
    expect(low).toMatchObject({ desired: 1, rule: 'latency' });
    expect(high.desired).toBeGreaterThan(low.desired);
    expect(Number(high.inputs['predictedP99Ms'])).toBeLessThanOrEqual(50);
    // One fewer would not fit: its utilisation is too close to 1 for the tail.
    expect(at(3000 * ((high.desired - 1) / high.desired)).desired).toBeLessThanOrEqual(high.desired);
  });

  it('keeps a CPU-quota-limited stage where a period rarely runs out', () => {
    // 100m: 10 ms of CPU per 100 ms; at 0.5 ms a request, 20 a period.
    // 150 req/s on one instance is 15 a period: P(N > 20) = 8%, too risky.
    const log = drive(10, () => ({ arrivals: 150, serviceMs: { mean: 0.5, p50: 0.45, p99: 1 } }), { stage: { cpuMilli: 100 } });
    expect(log.at(-1)).toMatchObject({ desired: 2, rule: 'quota' });
    expect(Number(log.at(-1)!.inputs['throttleRisk'])).toBeLessThanOrEqual(SLO_DEFAULTS.maxThrottleRisk);
  });

  it('adds instances to drain a backlog within the budget', () => {
    const log = drive(30, (t) => ({ arrivals: 10, inFlight: t < 29 ? 0 : 500 }));
    // 500 queued x 2 ms over a 50 ms budget: 20 instances' worth, capped at scale.max.
    expect(log.at(-1)).toMatchObject({ desired: 16, rule: 'backlog' });
  });

  it('holds its instances through a short idle gap when a cold start would break the SLO', () => {
    // Busy for 30 s, idle for 15 s, busy again.
    const log = drive(60, (t) => ({ arrivals: t < 30 || t >= 45 ? 3000 : 0 }), { stage: { min: 0 } });
    const busy = log.find((d) => d.t === 29)!.desired;
    expect(busy).toBeGreaterThan(1);
    const gap = log.filter((d) => d.t >= 31 && d.t < 45);
    expect(gap.every((d) => d.desired === busy)).toBe(true);
    expect(gap.filter((d) => d.rule === 'hold-through-gap').length).toBeGreaterThan(5);
    expect(gap.find((d) => d.rule === 'hold-through-gap')?.inputs).toMatchObject({ coldStartFits: false, coldStartMs: COLD_START_S * 1000 });
    // Nothing is released: the busy count runs on when the load returns.
    expect(log.find((d) => d.t === 45)?.count).toBe(busy);
  });

  it('scales to zero after a long idle when scale.min is 0, to scale.min otherwise', () => {
    const zero = drive(100, (t) => ({ arrivals: t < 20 ? 500 : 0 }), { stage: { min: 0 } });
    const released = zero.find((d) => d.rule === 'idle-release')!;
    expect(released.desired).toBe(0);
    // Idle from t = 20; no gap seen yet, so it holds for holdMs (30 s).
    expect(released.t).toBe(20 + SLO_DEFAULTS.holdMs / 1000);
    expect(zero.filter((d) => d.t > released.t).every((d) => d.desired === 0)).toBe(true);

    const one = drive(100, (t) => ({ arrivals: t < 20 ? 500 : 0 }), { stage: { min: 1 } });
    expect(one.every((d) => d.desired >= 1)).toBe(true);
  });

  it('lets a stage whose cold start fits in the SLO go after idleToZeroMs', () => {
    // A 5 s SLO: a 1 s Node cold start fits.
    const log = drive(40, (t) => ({ arrivals: t < 10 ? 500 : 0 }), { stage: { min: 0 }, sloMs: 5000 });
    const released = log.find((d) => d.rule === 'idle-release')!;
    expect(released.t).toBe(10 + SLO_DEFAULTS.idleToZeroMs / 1000);
    expect(log.find((d) => d.rule === 'hold-through-gap')?.inputs['coldStartFits']).toBe(true);
  });

  it('comes back from zero on held requests', () => {
    const log = drive(10, (t) => (t >= 5 ? { held: { requests: 4, arrivalsPerSec: 40 } } : {}), { stage: { min: 0 }, start: 0 });
    expect(log.find((d) => d.t === 3)?.desired).toBe(0);
    expect(log.find((d) => d.t === 5)?.desired).toBeGreaterThanOrEqual(1);
  });

  it('scales down only after scaleDownDelayMs', () => {
    const log = drive(40, (t) => ({ arrivals: t < 20 ? 3000 : 100 }));
    const high = log.find((d) => d.t === 19)!.desired;
    const drop = log.find((d) => d.t > 20 && d.desired < high)!;
    expect(drop.t).toBeGreaterThanOrEqual(20 + SLO_DEFAULTS.scaleDownDelayMs / 1000 - 1);
    expect(log.filter((d) => d.t > 20 && d.t < drop.t).every((d) => d.rule === 'scale-down-delay')).toBe(true);
  });

  it('shares the SLO between the stages of a path in proportion to their service p99', () => {
    const chain = testChain([{ name: 'a', next: ['b'] }, { name: 'b' }], 40);
    const policy = sloPlugin.create(chain, SLO_DEFAULTS);
    for (let t = 0; t < 100; t++) {
      policy.observe(observation(T0 + t * 1000, [
        { ready: 1, arrivals: 100, serviceMs: { mean: 1, p50: 1, p99: 3 } },
        { ready: 1, arrivals: 100, serviceMs: { mean: 3, p50: 3, p99: 9 } },
      ]));
    }
    const [a, b] = policy.decide(T0 + 99_000);
    expect(a?.inputs['budgetMs']).toBeCloseTo(10, 2);
    expect(b?.inputs['budgetMs']).toBeCloseTo(30, 2);
  });

  it('wakes a stage at zero together with the stage before it, not a cold start later', () => {
    // e -> a, both at zero; requests wait at the gateway for e.
    const chain = testChain([{ name: 'e', next: ['a'], min: 0 }, { name: 'a', min: 0 }], 50);
    const policy = sloPlugin.create(chain, SLO_DEFAULTS);
    policy.observe(observation(T0, [{ ready: 0, current: 0, held: { requests: 5, arrivalsPerSec: 50 } }, { ready: 0, current: 0 }]));
    const [e, a] = policy.decide(T0);
    expect(e?.desired).toBeGreaterThanOrEqual(1);
    expect(a).toMatchObject({ rule: 'upstream' });
    expect(a?.desired).toBeGreaterThanOrEqual(1);
    expect(Number(a?.inputs['upstream'])).toBeCloseTo(50, 6);
    // With nothing upstream, a stays where it is.
    const quiet = sloPlugin.create(chain, SLO_DEFAULTS);
    quiet.observe(observation(T0, [{ ready: 0, current: 0 }, { ready: 0, current: 0 }]));
    expect(quiet.decide(T0).map((v) => v.desired)).toEqual([0, 0]);
  });

  it('refuses a chain without an SLO', () => {
    expect(() => sloPlugin.create(testChain([{ name: 'a' }]), SLO_DEFAULTS)).toThrow(/slo.p99Ms/);
  });
});
