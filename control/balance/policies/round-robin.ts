/**
 * round-robin, as far as weights allow. Per message, the kernel can only
 * draw by weight, so strict rotation (1, 2, 3, 1, 2, 3) is not possible
 * without per-message state; what this keeps is round-robin's promise that
 * every target gets the same number of requests (per unit of base weight).
 * Each tick it compares the requests each target got since it joined with
 * the mean, and gives a target that fell behind a larger share for the next
 * tick (and one ahead a smaller one), sized to close the gap within about a
 * tick. Cumulative counts stay within a tick's worth of each other, where
 * plain equal weights let them drift apart like a random walk.
 */
import type { BalancePolicy } from '../policy.js';
import type { ParamSpecs } from '../params.js';
import { PerTarget } from './shares.js';

export const roundRobinParams: ParamSpecs = {};

export function roundRobin(): BalancePolicy {
  // Requests per unit of base weight since the target joined; NaN: new.
  const served = new PerTarget<{ n: number }>(() => ({ n: NaN }));
  return {
    name: 'round-robin',
    decide(tick) {
      const ts = tick.targets;
      const st = served.of(ts.map((t) => t.id));
      const known = st.filter((s) => !Number.isNaN(s.n));
      const meanBefore = known.length ? known.reduce((a, s) => a + s.n, 0) / known.length : 0;
      // A newcomer starts level with the others, not owed all they served.
      st.forEach((s) => Number.isNaN(s.n) && (s.n = meanBefore));
      st.forEach((s, i) => (s.n += ts[i]!.arrivals / ts[i]!.base));
      const mean = st.reduce((a, s) => a + s.n, 0) / Math.max(1, st.length);
      const perTick = Math.max(1, ts.reduce((a, t) => a + t.arrivals / t.base, 0) / Math.max(1, ts.length));
      const shares = st.map((s) => Math.min(3, Math.max(0.1, 1 + (mean - s.n) / perTick)));
      return { shares, reason: `behind the mean by ${st.map((s) => (mean - s.n).toFixed(1)).join(', ')} requests` };
    },
  };
}
