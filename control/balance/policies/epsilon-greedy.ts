/**
 * epsilon-greedy: with probability 1 - epsilon the arm (target) with the
 * best discounted mean reward, else one at random; an arm never observed is
 * tried first. As weights: the choice is (1 - epsilon) on the best arm plus
 * epsilon spread evenly, and the shares move a step toward it every tick
 * (shares.ts says why). Reward: -ln(latency ms) of the tick's warm
 * completions (minus lambda x memory pressure), discounted by gamma per
 * tick (arms.ts).
 */
import type { BalancePolicy } from '../policy.js';
import type { ParamSpecs, PolicyParams } from '../params.js';
import { banditParams, DiscountedArms, UNSEEN } from './arms.js';
import { argmax, SmoothedShares } from './shares.js';

export const epsilonGreedyParams: ParamSpecs = {
  epsilon: { description: 'the share explored at random', default: 0.1, min: 0, max: 1 },
  ...banditParams,
};

export function epsilonGreedy(p: PolicyParams): BalancePolicy {
  const arms = new DiscountedArms({ gamma: p.gamma!, lambda: p.lambda!, memThreshold: p.memThreshold! });
  const smooth = new SmoothedShares(p.step!);
  return {
    name: 'epsilon-greedy',
    decide(tick) {
      const a = arms.update(tick.targets);
      const k = a.length;
      const unseen = a.findIndex((x) => x.n < UNSEEN);
      const means = a.map((x) => (x.n < UNSEEN ? -Infinity : x.sum / x.n));
      const best = unseen >= 0 ? unseen : argmax(means);
      const choice = a.map((_, i) => (i === best ? 1 - p.epsilon! : 0) + p.epsilon! / k);
      return {
        shares: smooth.toward(
          tick.targets.map((t) => t.id),
          choice,
        ),
        reason: unseen >= 0 ? `trying ${tick.targets[best]!.id} (not seen yet)` : `best ${tick.targets[best]!.id}, means ${means.map((m) => m.toFixed(2)).join(', ')}`,
      };
    },
  };
}
