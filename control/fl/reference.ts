/**
 * The offline FedAvg reference: what a job's rounds must produce, computed
 * in float64 from the same deltas with the same rules as ferry
 * (control/fl/DESIGN.md "Rounds"): each update weighs its num_examples (or
 * 1 under uniform) times 1/sqrt(1 + s) when it is s rounds late, and a
 * round's model is base + sum(w_i * delta_i) / sum(w_i) (base when no
 * update was folded). Tests compare ferry's float32 result with it.
 */
export type Weighting = 'num-examples' | 'uniform';

export interface RefUpdate {
  delta: Float32Array;
  numExamples: number;
  /** Rounds late (late-merge); 0 or absent: on time. */
  staleness?: number;
}

/** FedBuff's staleness weight. */
export const stalenessWeight = (s: number) => 1 / Math.sqrt(1 + s);

/** The weight an update is folded with. */
export function updateWeight(numExamples: number, weighting: Weighting, staleness = 0): number {
  return (weighting === 'uniform' ? 1 : numExamples) * (staleness > 0 ? stalenessWeight(staleness) : 1);
}

/** One round: base + sum(w * delta) / sum(w), in float64. */
export function fedAvg(base: Float32Array, updates: RefUpdate[], weighting: Weighting): Float64Array {
  const out = Float64Array.from(base);
  if (updates.length === 0) return out;
  const acc = new Float64Array(base.length);
  let total = 0;
  for (const u of updates) {
    if (u.delta.length !== base.length) throw new RangeError(`an update has ${u.delta.length} values, the model ${base.length}`);
    const w = updateWeight(u.numExamples, weighting, u.staleness);
    total += w;
    for (let i = 0; i < acc.length; i++) acc[i]! += w * u.delta[i]!;
  }
  if (total === 0) return out;
  for (let i = 0; i < out.length; i++) out[i]! += acc[i]! / total;
  return out;
}

/**
 * A job's models, round by round: models[0] = init, models[r + 1] from
 * the updates folded into round r (a failed round, `null`, carries the
 * model forward unchanged).
 */
export function runRounds(init: Float32Array, rounds: (RefUpdate[] | null)[], weighting: Weighting): Float32Array[] {
  const models = [init];
  for (const updates of rounds) {
    const base = models[models.length - 1]!;
    models.push(updates === null ? base : Float32Array.from(fedAvg(base, updates, weighting)));
  }
  return models;
}

/**
 * The largest difference between got and want, relative to the scale of
 * want's values (so a tolerance reads as "float32 rounding of values this
 * big"), and where it is.
 */
export function maxRelativeError(got: ArrayLike<number>, want: ArrayLike<number>): { error: number; at: number } {
  if (got.length !== want.length) throw new RangeError(`${got.length} values against ${want.length}`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  scale = scale || 1;
  let error = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!) / scale;
    if (!(d <= error)) {
      error = d;
      at = i;
    }
  }
  return { error, at };
}
