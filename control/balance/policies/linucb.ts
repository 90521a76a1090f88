/**
 * LinUCB with disjoint linear models (Li, Chu, Langford & Schapire, "A
 * contextual-bandit approach to personalized news article recommendation",
 * 2010, algorithm 1): each arm a has A_a (d x d, the identity at first) and
 * b_a; its expected reward in context x is theta_a . x with theta_a = A_a^-1
 * b_a, and the choice is the arm with the largest theta_a . x + alpha x
 * sqrt(x' A_a^-1 x); alpha = 0.1 by default. The context of an arm is the
 * CPU and memory use of what serves it, x = (1, cpu, mem), so an arm is
 * expected to do worse when its node is busy before its latency shows it.
 * Reward: -ln(latency ms) of the tick's warm completions minus lambda x the
 * memory-pressure penalty. Like the others here, A and b are discounted by
 * gamma per tick (toward the identity) for a load that changes; a tick's
 * choice is what LinUCB would make of a tick's messages (shares.ts
 * ucbChoice()), and the shares move a step toward it every tick.
 *
 * One guard the paper does not need: the context is partly our own doing
 * (a target given less traffic uses less CPU), so an arm is only ever
 * learnt at the loads it was given, and a linear fit extrapolated to an
 * idle CPU it was never seen at can promise anything. Each arm's context is
 * therefore clamped, feature by feature, into the range of the contexts it
 * was last observed in (the last 64), before it is scored.
 */
import type { ParamSpecs, PolicyParams } from '../params.js';
import type { BalancePolicy, TargetSample } from '../policy.js';
import { banditParams, observedReward } from './arms.js';
import { inverse, quadratic, solve } from './linalg.js';
import { argmax, PerTarget, SmoothedShares, exploreParam, ucbChoice } from './shares.js';

export const linucbParams: ParamSpecs = {
  alpha: { description: 'weight of the exploration bonus', default: 0.1, min: 0, max: 100 },
  ...banditParams,
  ...exploreParam,
  lambda: { ...banditParams.lambda, default: 1 },
};

const D = 3;

export function context(t: TargetSample): number[] {
  return [1, t.load.cpu, t.load.mem];
}

interface Model {
  A: number[][];
  b: number[];
  /** Contexts of the last observations, newest last. */
  seen: number[][];
}

const SEEN = 64;

/** x with each feature clamped into the range the arm was observed at. */
export function clampToSeen(x: readonly number[], seen: readonly (readonly number[])[]): number[] {
  if (seen.length === 0) return [...x];
  return x.map((v, j) => Math.min(Math.max(v, Math.min(...seen.map((s) => s[j]!))), Math.max(...seen.map((s) => s[j]!))));
}

const identity = () => Array.from({ length: D }, (_, i) => Array.from({ length: D }, (_, j) => (i === j ? 1 : 0)));

export function linucb(p: PolicyParams): BalancePolicy {
  const models = new PerTarget<Model>(() => ({ A: identity(), b: new Array<number>(D).fill(0), seen: [] }));
  const smooth = new SmoothedShares(p.step!);
  const g = p.gamma!;
  return {
    name: 'linucb',
    decide(tick) {
      const ts = tick.targets;
      const ms = models.of(ts.map((t) => t.id));
      ms.forEach((m, i) => {
        const x = context(ts[i]!);
        // Forget toward the prior, then learn what this tick showed.
        m.A = m.A.map((row, r) => row.map((v, c) => g * v + (r === c ? 1 - g : 0)));
        m.b = m.b.map((v) => g * v);
        const r = observedReward(ts[i]!, { lambda: p.lambda!, memThreshold: p.memThreshold! });
        if (r === undefined) return;
        m.A = m.A.map((row, ri) => row.map((v, c) => v + x[ri]! * x[c]!));
        m.b = m.b.map((v, ri) => v + r * x[ri]!);
        m.seen.push(x);
        if (m.seen.length > SEEN) m.seen.shift();
      });
      const mean: number[] = [];
      const bonus = ms.map((m, i) => {
        const x = clampToSeen(context(ts[i]!), m.seen);
        const theta = solve(m.A, m.b);
        mean.push(theta.reduce((s, v, j) => s + v * x[j]!, 0));
        return p.alpha! * Math.sqrt(Math.max(0, quadratic(inverse(m.A), x)));
      });
      const ucb = mean.map((m, i) => m + bonus[i]!);
      const best = argmax(ucb);
      return {
        shares: smooth.toward(
          ts.map((t) => t.id),
          ucbChoice(mean, bonus, p.explore!),
        ),
        reason: `best ${ts[best]!.id}, ucb ${ucb.map((v) => v.toFixed(2)).join(', ')}`,
      };
    },
  };
}
