/**
 * Discounted arm statistics for the bandits (Garivier & Moulines, "On
 * upper-confidence bound policies for switching bandit problems", 2011:
 * D-UCB): every tick each arm's count and reward sum are multiplied by
 * gamma before the tick's observations are added, so what an arm did a
 * minute ago weighs less than what it does now. A target's latency depends
 * on the load it is given, so the rewards are not stationary and plain
 * means would never forget an overload that is over.
 */
import type { TargetSample } from '../policy.js';
import { PerTarget, reward } from './shares.js';

export interface ArmStats {
  /** Discounted number of observations. */
  n: number;
  /** Discounted sum of rewards. */
  sum: number;
}

export interface RewardOptions {
  gamma: number;
  lambda: number;
  memThreshold: number;
}

/** What a tick's sample teaches: a reward, when the target is warm and
 * its latency is known (from its completions, or from a queue that did not
 * move, which is worth hearing about at once). */
export function observedReward(t: TargetSample, o: Pick<RewardOptions, 'lambda' | 'memThreshold'>): number | undefined {
  if (!t.warm || t.latencyMs === undefined) return undefined;
  return reward(t.latencyMs, t.load.mem, o.lambda, o.memThreshold);
}

export class DiscountedArms {
  private readonly arms = new PerTarget<ArmStats>(() => ({ n: 0, sum: 0 }));

  constructor(private readonly o: RewardOptions) {}

  /** Discount, then add the tick's warm observations; the arms in order. */
  update(targets: readonly TargetSample[]): ArmStats[] {
    const arms = this.arms.of(targets.map((t) => t.id));
    arms.forEach((a, i) => {
      a.n *= this.o.gamma;
      a.sum *= this.o.gamma;
      const r = observedReward(targets[i]!, this.o);
      if (r !== undefined) {
        a.n += 1;
        a.sum += r;
      }
    });
    return arms;
  }
}

/** Arms with (almost) no observations: a bandit tries them first. */
export const UNSEEN = 1e-6;

/** What every bandit here takes, beside its own exploration parameter. */
export const banditParams = {
  gamma: { description: 'how much of its past an arm keeps per tick (discount)', default: 0.95, min: 0.5, max: 1 },
  step: { description: 'how far the shares move toward the bandit\'s choice per tick', default: 0.2, min: 0, max: 1, inclusive: false },
  lambda: { description: 'weight of the memory-pressure penalty in the reward', default: 0, min: 0, max: 100 },
  memThreshold: { description: 'memory use from which the penalty starts', default: 0.8, min: 0, max: 1, inclusive: false },
} as const;
