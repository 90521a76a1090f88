/**
 * least-load (AutoNDP-style): the share of a target falls with the load of
 * what serves it, read from /proc and the cgroups: CPU in use against its
 * limit, memory in use against its limit, and loadavg per CPU where known
 * (another node reports its own). load = cpuWeight x cpu + memoryWeight x
 * mem + loadavgWeight x loadavg (the loadavg weight goes to CPU when there
 * is none), and a target's share is (1 - load) ^ exponent, moving a step
 * per tick. Local instances are compared by their own use (the node's is
 * the same for all of them), other nodes by theirs.
 */
import type { BalancePolicy, TargetSample } from '../policy.js';
import type { ParamSpecs, PolicyParams } from '../params.js';
import { SmoothedShares } from './shares.js';

export const leastLoadParams: ParamSpecs = {
  cpuWeight: { description: 'weight of CPU use in the load', default: 0.7, min: 0, max: 1 },
  memoryWeight: { description: 'weight of memory use in the load', default: 0.2, min: 0, max: 1 },
  loadavgWeight: { description: 'weight of the 1-minute loadavg per CPU in the load', default: 0.1, min: 0, max: 1 },
  exponent: { description: 'how sharply a loaded target loses share', default: 2, min: 0.5, max: 8 },
  step: { description: 'how far the shares move toward the new ones per tick', default: 0.5, min: 0, max: 1, inclusive: false },
};

/** The load of one target, 0..1. */
export function loadOf(t: TargetSample, p: PolicyParams): number {
  const cpuW = p.cpuWeight! + (t.load.load1 === undefined ? p.loadavgWeight! : 0);
  const total = cpuW + p.memoryWeight! + (t.load.load1 === undefined ? 0 : p.loadavgWeight!);
  if (total === 0) return 0;
  const l = cpuW * t.load.cpu + p.memoryWeight! * t.load.mem + (t.load.load1 === undefined ? 0 : p.loadavgWeight! * Math.min(1, t.load.load1));
  return Math.min(1, Math.max(0, l / total));
}

export function leastLoad(p: PolicyParams): BalancePolicy {
  const smooth = new SmoothedShares(p.step!);
  return {
    name: 'least-load',
    decide(tick) {
      const loads = tick.targets.map((t) => loadOf(t, p));
      // A little headroom is always left, so a saturated target keeps a
      // trickle and its load can be seen falling.
      const want = loads.map((l) => Math.pow(Math.max(0.02, 1 - l), p.exponent!));
      return {
        shares: smooth.toward(
          tick.targets.map((t) => t.id),
          want,
        ),
        reason: `load ${loads.map((l) => l.toFixed(2)).join(', ')}`,
      };
    },
  };
}
