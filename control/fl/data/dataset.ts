/**
 * A labelled classification dataset held as flat typed arrays: example i's
 * features are x[i * features .. (i + 1) * features), its label y[i]. Flat
 * arrays keep training in Float32Array arithmetic with no per-example
 * objects, and a subset is a copy of rows, cheap at digits' size.
 */
export interface Dataset {
  readonly x: Float32Array;
  readonly y: Uint8Array;
  readonly count: number;
  readonly features: number;
  readonly classes: number;
}

/** The rows named by `indices`, in that order. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const x = new Float32Array(indices.length * ds.features);
  const y = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (!(i >= 0 && i < ds.count)) throw new RangeError(`row ${i} is outside the dataset (0..${ds.count - 1})`);
    x.set(ds.x.subarray(i * ds.features, (i + 1) * ds.features), k * ds.features);
    y[k] = ds.y[i]!;
  }
  return { x, y, count: indices.length, features: ds.features, classes: ds.classes };
}

/** How many examples of each class. */
export function classCounts(ds: Pick<Dataset, 'y' | 'classes'>): number[] {
  const counts = new Array<number>(ds.classes).fill(0);
  for (const label of ds.y) counts[label]!++;
  return counts;
}
