/**
 * Building a consistent-hash ring (Karger et al.'s consistent hashing with
 * virtual nodes): every owner gets points in the 21-bit key space at the
 * hashes of "<name>#<j>", as many as its weight earns, and a key belongs to
 * the owner of the first point at or after it. Points depend only on the
 * owner's name, so adding or removing one owner moves only the keys of the
 * arcs it gains or loses, and every node builds the same ring from the same
 * owners. The same hash turns a request's key (a header or JSON field the
 * gateway reads) into its position.
 */
import { KEY_MASK, RING_MAX, type Ring } from './pick.js';

/** FNV-1a (32 bits) of the UTF-8 bytes, folded to the key space; never 0,
 * which means "no key" in a request id. */
export function keyHash(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Fold the high bits in: FNV's low bits mix worst.
  return ((h ^ (h >>> 21)) & KEY_MASK) || 1;
}

export interface RingMember<T> {
  owner: T;
  /** Stable across rebuilds and nodes: an instance id, a node name. */
  name: string;
  weight: number;
}

/**
 * The ring over members with weight > 0: vnodes points for the heaviest
 * member, proportionally fewer (at least one) for the others, scaled down
 * when all of them would not fit in RING_MAX. A point two members hash to
 * stays with the first (by name), so the ring is the same whatever order the
 * members come in.
 */
export function buildRing<T>(members: readonly RingMember<T>[], vnodes: number): Ring<T> {
  const live = members.filter((m) => m.weight > 0).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (live.length === 0) return { points: [], owners: [] };
  const heaviest = Math.max(...live.map((m) => m.weight));
  let count = live.map((m) => Math.max(1, Math.round((vnodes * m.weight) / heaviest)));
  const total = count.reduce((a, b) => a + b, 0);
  if (total > RING_MAX) {
    const scale = RING_MAX / total;
    count = count.map((c) => Math.max(1, Math.floor(c * scale)));
  }
  const byPoint = new Map<number, T>();
  live.forEach((m, i) => {
    for (let j = 0; j < count[i]!; j++) {
      const p = keyHash(`${m.name}#${j}`);
      if (!byPoint.has(p)) byPoint.set(p, m.owner);
    }
  });
  const points = [...byPoint.keys()].sort((a, b) => a - b).slice(0, RING_MAX);
  return { points, owners: points.map((p) => byPoint.get(p)!) };
}
