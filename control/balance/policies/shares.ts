/**
 * What the adaptive policies share: shares that move toward a choice a step
 * per tick instead of jumping to it, and per-target state that follows the
 * stage's membership.
 *
 * Why a step: a bandit run per message would send each message to its
 * current best target; with weights rewritten per tick, jumping to that
 * choice would send a whole tick's traffic to one target, which then
 * overloads and loses the next tick (herding). Moving the shares a step
 * toward the choice makes each target's share the recently weighted
 * fraction of ticks it was the best choice, which settles where the good
 * targets' latencies meet and keeps the bad ones near zero.
 */

/** Index of the largest value (the first of equals); -1 for none. */
export function argmax(values: readonly number[]): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) if (best < 0 || values[i]! > values[best]!) best = i;
  return best;
}

/** All weight on one index. */
export function oneHot(n: number, i: number): number[] {
  return Array.from({ length: n }, (_, j) => (j === i ? 1 : 0));
}

/**
 * A tick's choice for an upper-confidence-bound bandit, given each arm's
 * estimate and bonus (index = estimate + bonus). Per message, UCB picks the
 * arm with the largest index, each pull shrinking that arm's bonus; over a
 * tick's worth of messages that amounts to:
 *   - an arm never observed (infinite bound): tried, with all of the tick;
 *   - arms it cannot tell from the leader (their estimate within the
 *     leader's bonus of the leader's, and their bound reaching the leader's
 *     estimate): the indices cross back and forth, so an even split;
 *   - an arm whose bound reaches the leader's estimate only by its own
 *     bonus (a worse estimate, but few observations): a few exploratory
 *     pulls until its bonus shrinks, so the share `explore`, not an even
 *     part of the tick;
 *   - the rest: nothing.
 * Sending the tick to whichever index is ahead by noise would make the
 * shares of two equal arms swing; an even split with every optimistic arm
 * would send a slow target a third of the traffic each time it is re-tried.
 */
/** The parameter of ucbChoice() that UCB1 and LinUCB take (epsilon-greedy explores by epsilon instead). */
export const exploreParam = {
  explore: { description: 'the share a target only its bonus makes worth trying gets for a tick', default: 0.05, min: 0, max: 0.5 },
} as const;

export function ucbChoice(estimate: readonly number[], bonus: readonly number[], explore: number): number[] {
  const n = estimate.length;
  const index = estimate.map((e, i) => e + bonus[i]!);
  const unseen = index.map((x) => (x === Infinity ? 1 : 0));
  if (unseen.some((u) => u === 1)) return unseen;
  const lead = argmax(index);
  if (lead < 0) return [];
  const [le, lb] = [estimate[lead]!, bonus[lead]!];
  const peer = index.map((x, i) => x >= le && estimate[i]! >= le - lb);
  const optimistic = index.map((x, i) => x >= le && !peer[i]);
  const explored = optimistic.filter(Boolean).length * explore;
  const peers = peer.filter(Boolean).length;
  return Array.from({ length: n }, (_, i) => (peer[i] ? (1 - Math.min(0.5, explored)) / peers : optimistic[i] ? explore : 0));
}

/** Shares summing to 1 (equal when all are 0). */
export function normalise(values: readonly number[]): number[] {
  const sum = values.reduce((a, b) => a + b, 0);
  return sum > 0 ? values.map((v) => v / sum) : values.map(() => 1 / values.length);
}

/** Per-target state kept across ticks; targets that left are forgotten. */
export class PerTarget<T> {
  private readonly byId = new Map<string, T>();

  constructor(private readonly fresh: () => T) {}

  /** The state of each id, in order (new ids get fresh state). */
  of(ids: readonly string[]): T[] {
    const keep = new Set(ids);
    for (const id of [...this.byId.keys()]) if (!keep.has(id)) this.byId.delete(id);
    return ids.map((id) => {
      let s = this.byId.get(id);
      if (s === undefined) this.byId.set(id, (s = this.fresh()));
      return s;
    });
  }

  get size(): number {
    return this.byId.size;
  }
}

/** Shares that move a step toward a choice every tick. */
export class SmoothedShares {
  private readonly shares = new Map<string, number>();

  /** step: the fraction of the way to the choice covered per tick (0..1]. */
  constructor(private readonly step: number) {}

  /** The shares after one step toward choice (normalised first); a target
   * seen for the first time starts with an equal share. */
  toward(ids: readonly string[], choice: readonly number[]): number[] {
    const target = normalise(choice);
    const start = normalise(ids.map((id) => this.shares.get(id) ?? 1 / ids.length));
    const next = start.map((s, i) => (1 - this.step) * s + this.step * target[i]!);
    this.shares.clear();
    ids.forEach((id, i) => this.shares.set(id, next[i]!));
    return next;
  }
}

/** Reward of a warm tick's completions: -ln(mean latency in ms) minus
 * lambda times the memory-pressure penalty, which grows from 0 at
 * `threshold` of memory in use to 1 when all is (so only a target running
 * out of memory is held against). */
export function reward(latencyMs: number, mem: number, lambda: number, threshold: number): number {
  const penalty = Math.max(0, Math.min(1, (mem - threshold) / (1 - threshold)));
  return -Math.log(Math.max(latencyMs, 0.001)) - lambda * penalty;
}
