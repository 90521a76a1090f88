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
 * gamma per tick (toward the identity) for a load that changes, and the
 * shares move a step toward the choice every tick (shares.ts).
 */
import type { ParamSpecs, PolicyParams } from '../params.js';
import type { BalancePolicy, TargetSample } from '../policy.js';
import { banditParams, observedReward } from './arms.js';
import { inverse, quadratic, solve } from './linalg.js';
import { argmax, oneHot, PerTarget, SmoothedShares } from './shares.js';

export const linucbParams: ParamSpecs = {
  alpha: { description: 'weight of the exploration bonus', default: 0.1, min: 0, max: 100 },
  ...banditParams,
  lambda: { ...banditParams.lambda, default: 1 },
};

const D = 3;

export function context(t: TargetSample): number[] {
  return [1, t.load.cpu, t.load.mem];
}

interface Model {
  A: number[][];
  b: number[];
}

const identity = () => Array.from({ length: D }, (_, i) => Array.from({ length: D }, (_, j) => (i === j ? 1 : 0)));

export function linucb(p: PolicyParams): BalancePolicy {
  const models = new PerTarget<Model>(() => ({ A: identity(), b: new Array<number>(D).fill(0) }));
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
      });
      const ucb = ms.map((m, i) => {
        const x = context(ts[i]!);
        const theta = solve(m.A, m.b);
        const mean = theta.reduce((s, v, j) => s + v * x[j]!, 0);
        return mean + p.alpha! * Math.sqrt(Math.max(0, quadratic(inverse(m.A), x)));
      });
      const best = argmax(ucb);
      return {
        shares: smooth.toward(
          ts.map((t) => t.id),
          oneHot(ts.length, best),
        ),
        reason: `best ${ts[best]!.id}, ucb ${ucb.map((v) => v.toFixed(2)).join(', ')}`,
      };
    },
  };
}
