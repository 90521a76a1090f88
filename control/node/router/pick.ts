/**
 * ferry's selection, in TypeScript: the weighted pick and the
 * consistent-hash ring lookup exactly as the kernel makes them
 * (bpf/pick.bpf.h). The relay router (fallback mode) and the egress that
 * chooses a remote node use these, so a stage splits the same way whichever
 * router runs it. Same arithmetic to the bit: a 32-bit random number, roll =
 * rand % total, the first target whose running sum of weights exceeds the
 * roll. bpf/testdata/pick-vectors.txt holds the cases both must agree on
 * (pick.test.ts here, dataplane-native/test/test_pick.c in the kernel).
 *
 * No native addon here: the chain compiler and the gateway use the key
 * constants without loading it (pick.test.ts checks they equal abi.h's).
 */

/** abi.h FERRY_KEY_SHIFT / FERRY_KEY_BITS: a request's key hash lives in
 * bits 32..52 of its id; 0 there means "no key". */
export const KEY_SHIFT = 32;
export const KEY_BITS = 21;
export const KEY_MASK = (1 << KEY_BITS) - 1;
/** abi.h FERRY_RING_MAX: points one stage's ring may have. */
export const RING_MAX = 256;
/** The routers draw 32-bit random numbers, so weights may add up to this. */
export const MAX_TOTAL_WEIGHT = 0xffffffff;

/** A uniformly random u32, as bpf_get_prandom_u32() gives the kernel. */
export function randomU32(): number {
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}

/** Sum of a route's weights; a RangeError when the routers cannot draw
 * over it (as ferry_router_set_route refuses with EOVERFLOW). */
export function totalWeight(weights: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i]!;
  if (total > MAX_TOTAL_WEIGHT) throw new RangeError(`weights add up to ${total}, more than ${MAX_TOTAL_WEIGHT}`);
  return total;
}

/** The index the kernel would choose for this random number: -1 when the
 * route is empty or all its weights are 0. */
export function pickIndex(weights: ArrayLike<number>, rand: number): number {
  const total = totalWeight(weights);
  if (weights.length === 0 || total === 0) return -1;
  const roll = (rand >>> 0) % total;
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i]!;
    if (roll < acc) return i;
  }
  return -1;
}

/** One target, with probability weight / total. */
export function pickWeighted<T extends { weight: number }>(targets: readonly T[], rand = randomU32()): T | undefined {
  const i = pickIndex(
    targets.map((t) => t.weight),
    rand,
  );
  return i < 0 ? undefined : targets[i];
}

/** A stage's consistent-hash ring: points ascending in the key space, each
 * owned by a target (an instance id in a route, a node at the egress). */
export interface Ring<T> {
  points: readonly number[];
  owners: readonly T[];
}

/** The owner of the first point at or after key, wrapping to the first
 * point (ferry_ring_pick); undefined for an empty ring. */
export function ringPick<T>(ring: Ring<T>, key: number): T | undefined {
  const n = ring.points.length;
  if (n === 0) return undefined;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ring.points[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return ring.owners[lo >= n ? 0 : lo];
}

/** The key a request id carries (0: none). */
export function requestKey(requestId: bigint): number {
  return Number((requestId >> BigInt(KEY_SHIFT)) & BigInt(KEY_MASK));
}
