/**
 * least-connections, as far as weights allow. Per message it would send to
 * the target holding the fewest requests right now; the kernel cannot see
 * that, so each tick a target's share is 1 / (1 + the requests it held on
 * average during the tick) ^ exponent, and the shares move a step toward
 * that each tick. A target that queues up (slower, or given too much) holds
 * more and is given less until the queues even out: join-the-shortest-queue
 * at the granularity of a tick.
 */
import type { BalancePolicy } from '../policy.js';
import type { ParamSpecs, PolicyParams } from '../params.js';
import { SmoothedShares } from './shares.js';

export const leastConnectionsParams: ParamSpecs = {
  exponent: { description: 'how sharply a longer queue loses share', default: 2, min: 0.5, max: 8 },
  step: { description: 'how far the shares move toward the new ones per tick', default: 0.5, min: 0, max: 1, inclusive: false },
};

export function leastConnections(p: PolicyParams): BalancePolicy {
  const smooth = new SmoothedShares(p.step!);
  return {
    name: 'least-connections',
    decide(tick) {
      const ts = tick.targets;
      const want = ts.map((t) => 1 / Math.pow(1 + t.inFlight, p.exponent!));
      return {
        shares: smooth.toward(
          ts.map((t) => t.id),
          want,
        ),
        reason: `in flight ${ts.map((t) => t.inFlight.toFixed(2)).join(', ')}`,
      };
    },
  };
}
