/**
 * From a policy's shares to the integers a route holds: base x factor, where
 * the factors are the shares scaled to average 1 over the stage's targets,
 * times WEIGHT_SCALE so a factor of 0.01 is still a weight of 1. A target
 * with base weight 0 (being drained) stays at 0; one the policy gives
 * (almost) nothing keeps weight 1, a trickle that lets it be measured.
 */
import { MAX_TOTAL_WEIGHT } from '../../node/router/pick.js';

export const WEIGHT_SCALE = 100;

/** Factors averaging 1 from shares (all 1 when there are none to go by). */
export function factorsOf(shares: readonly number[]): number[] {
  const sum = shares.reduce((a, b) => a + Math.max(0, b), 0);
  if (!(sum > 0)) return shares.map(() => 1);
  return shares.map((s) => (Math.max(0, s) * shares.length) / sum);
}

export function effectiveWeights(bases: readonly number[], factors: readonly number[]): number[] {
  let w = bases.map((b, i) => (b > 0 ? Math.max(1, Math.round(b * (factors[i] ?? 1) * WEIGHT_SCALE)) : 0));
  const total = w.reduce((a, b) => a + b, 0);
  // Base weights large enough to overflow once scaled: scale back down.
  if (total > MAX_TOTAL_WEIGHT) w = w.map((x) => (x > 0 ? Math.max(1, Math.floor((x * MAX_TOTAL_WEIGHT) / total) - 1) : 0));
  return w;
}
