/**
 * A stand-in for unit tests of the policies only (the real thing is tested
 * with real instances in control/ferryd/balance/balancer.test.ts): targets
 * modelled as single-server queues fed by a fluid share of a fixed request
 * rate, on a virtual clock. Each tick the policy's shares split the rate;
 * a target's latency is service / (1 - utilisation), capped when it
 * saturates, and its in-flight count follows from Little's law.
 */
import type { BalancePolicy, TargetSample } from '../policy.js';

export interface FluidTarget {
  id: string;
  serviceMs: number;
  base?: number;
  mem?: number;
  warm?: boolean;
}

export interface FluidRun {
  /** Shares of the last tick, by id, summing to 1. */
  shares: Record<string, number>;
  /** Mean latency of all requests over the last half of the run. */
  meanLatencyMs: number;
}

export function sample(t: FluidTarget, rate: number, tickMs: number): TargetSample {
  const util = (rate * t.serviceMs) / 1000;
  const latencyMs = util < 0.95 ? t.serviceMs / (1 - util) : t.serviceMs * 20 * util;
  const completions = (rate * tickMs) / 1000;
  return {
    id: t.id,
    base: t.base ?? 1,
    arrivals: completions,
    completions,
    inFlight: (rate * latencyMs) / 1000,
    latencyMs: completions > 0 ? latencyMs : undefined,
    warm: t.warm ?? true,
    load: { cpu: Math.min(1, util), mem: t.mem ?? 0.3 },
    instances: 1,
  };
}

export function runFluid(policy: BalancePolicy, targets: FluidTarget[], opts: { rate: number; ticks: number; tickMs?: number }): FluidRun {
  const tickMs = opts.tickMs ?? 250;
  let shares = targets.map(() => 1 / targets.length);
  let latencySum = 0;
  let counted = 0;
  for (let tick = 0; tick < opts.ticks; tick++) {
    const samples = targets.map((t, i) => sample(t, opts.rate * shares[i]!, tickMs));
    if (tick >= opts.ticks / 2)
      samples.forEach((s) => {
        if (s.latencyMs !== undefined) {
          latencySum += s.latencyMs * s.completions;
          counted += s.completions;
        }
      });
    const d = policy.decide({ nowMs: tick * tickMs, tickMs, targets: samples });
    const weights = d.shares.map((s, i) => s * (targets[i]!.base ?? 1));
    const sum = weights.reduce((a, b) => a + b, 0);
    shares = weights.map((w) => w / sum);
  }
  return { shares: Object.fromEntries(targets.map((t, i) => [t.id, shares[i]!])), meanLatencyMs: counted ? latencySum / counted : NaN };
}

/** Two fast targets and one three times slower, at a rate the fast ones
 * can carry alone but that saturates the slow one at an equal split. */
export const ONE_SLOW: FluidTarget[] = [
  { id: 'fast-a', serviceMs: 4 },
  { id: 'fast-b', serviceMs: 4 },
  { id: 'slow', serviceMs: 12 },
];
export const ONE_SLOW_RATE = 240;
