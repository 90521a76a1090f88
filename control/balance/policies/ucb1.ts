/**
 * UCB1 (Auer, Cesa-Bianchi & Fischer, "Finite-time analysis of the
 * multiarmed bandit problem", 2002) with discounted statistics (D-UCB,
 * arms.ts): the choice is the arm with the largest mean reward + c x
 * sqrt(ln N / n_i), N the (discounted) observations of all arms, n_i arm
 * i's; an arm never observed first. c = 0.8 by default. Reward: -ln(latency
 * ms) of the tick's warm completions (minus lambda x memory pressure). A
 * tick's choice is what UCB1 would make of a tick's messages (shares.ts
 * ucbChoice(): an even split among the arms it cannot tell apart, the
 * share `explore` for one it is only optimistic about), the shares move a
 * step toward it every tick, and a target that gets less traffic collects
 * fewer observations, so its bonus grows until it is tried again.
 */
import type { BalancePolicy } from '../policy.js';
import type { ParamSpecs, PolicyParams } from '../params.js';
import { banditParams, DiscountedArms, UNSEEN } from './arms.js';
import { argmax, SmoothedShares, exploreParam, ucbChoice } from './shares.js';

export const ucb1Params: ParamSpecs = {
  c: { description: 'weight of the exploration bonus', default: 0.8, min: 0, max: 100 },
  ...banditParams,
  ...exploreParam,
};

export function ucb1(p: PolicyParams): BalancePolicy {
  const arms = new DiscountedArms({ gamma: p.gamma!, lambda: p.lambda!, memThreshold: p.memThreshold! });
  const smooth = new SmoothedShares(p.step!);
  return {
    name: 'ucb1',
    decide(tick) {
      const a = arms.update(tick.targets);
      const total = a.reduce((s, x) => s + x.n, 0);
      const mean = a.map((x) => (x.n < UNSEEN ? 0 : x.sum / x.n));
      const bonus = a.map((x) => (x.n < UNSEEN ? Infinity : p.c! * Math.sqrt(Math.log(Math.max(total, 1)) / x.n)));
      const index = mean.map((m, i) => m + bonus[i]!);
      const best = argmax(index);
      return {
        shares: smooth.toward(
          tick.targets.map((t) => t.id),
          ucbChoice(mean, bonus, p.explore!),
        ),
        reason: `best ${tick.targets[best]!.id}, index ${index.map((v) => v.toFixed(2)).join(', ')}`,
      };
    },
  };
}
