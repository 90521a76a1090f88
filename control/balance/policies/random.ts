/**
 * random: the kernel's weighted random pick with the control plane's
 * weights as they are (what ferry did before policies existed). Each
 * message goes to a target with probability weight / total; nothing is
 * measured or learnt.
 */
import type { BalancePolicy } from '../policy.js';
import type { ParamSpecs } from '../params.js';

export const randomParams: ParamSpecs = {};

export function random(): BalancePolicy {
  return {
    name: 'random',
    decide: (tick) => ({ shares: tick.targets.map(() => 1), reason: 'base weights' }),
  };
}
