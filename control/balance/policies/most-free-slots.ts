/**
 * most-free-slots (AutoNDP's most-slots): every instance has `slots`
 * requests it is meant to hold at once; a target's free slots are its
 * instances x slots minus the requests it held on average during the tick,
 * and its share is its free slots (plus a little, so a full target still
 * gets a trickle and is seen to drain), moving a step per tick. Unlike
 * least-connections it counts a node running three instances as three
 * times the room.
 */
import type { BalancePolicy } from '../policy.js';
import type { ParamSpecs, PolicyParams } from '../params.js';
import { SmoothedShares } from './shares.js';

export const mostFreeSlotsParams: ParamSpecs = {
  slots: { description: 'requests one instance is meant to hold at once', default: 4, min: 1, max: 1024, integer: true },
  step: { description: 'how far the shares move toward the new ones per tick', default: 0.5, min: 0, max: 1, inclusive: false },
};

export function mostFreeSlots(p: PolicyParams): BalancePolicy {
  const smooth = new SmoothedShares(p.step!);
  return {
    name: 'most-free-slots',
    decide(tick) {
      const free = tick.targets.map((t) => Math.max(0, t.instances * p.slots! - t.inFlight));
      const want = free.map((f) => f + 0.05 * p.slots!);
      return {
        shares: smooth.toward(
          tick.targets.map((t) => t.id),
          want,
        ),
        reason: `free slots ${free.map((f) => f.toFixed(1)).join(', ')}`,
      };
    },
  };
}
