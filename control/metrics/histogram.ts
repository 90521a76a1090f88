/**
 * Latency histograms: log-linear buckets over microseconds, the same in C
 * (dataplane-native/include/ferry/hist.h, for the native runner) and here,
 * so a histogram recorded anywhere merges with any other by adding counts.
 *
 * Values below 16 µs have a bucket each; above, every power of two is cut
 * into 8 buckets (12.5% wide), up to 2^36 µs (19 hours): 280 buckets, a
 * quantile read off them is within 12.5% of the true value (HDR-histogram
 * style, with one significant binary digit more than a plain log2 scale).
 */

/** Buckets per power of two above the exact range. */
export const SUB_BUCKETS = 8;
/** Values 0..EXACT-1 µs have a bucket each. */
const EXACT = 16;
const EXACT_BITS = 4; // log2(EXACT)
const SUB_BITS = 3; // log2(SUB_BUCKETS)
/** Powers of two covered above the exact range: 2^4 .. 2^36 µs. */
const MAX_POWER = 36;
export const BUCKETS = EXACT + (MAX_POWER - EXACT_BITS + 1) * SUB_BUCKETS;

/** floor(log2(v)) for a positive integer, exact (Math.log2 rounds near powers of two). */
function log2Floor(v: number): number {
  if (v < 2 ** 31) return 31 - Math.clz32(v);
  let p = Math.floor(Math.log2(v));
  if (2 ** p > v) p--;
  else if (2 ** (p + 1) <= v) p++;
  return p;
}

/** The bucket of a duration in microseconds (clamped to the last one). */
export function bucketOf(us: number): number {
  if (!(us > 0)) return 0;
  const v = Math.floor(us);
  if (v < EXACT) return v;
  const power = log2Floor(v);
  if (power > MAX_POWER) return BUCKETS - 1;
  // The 3 bits below the top bit pick the sub-bucket.
  const sub = Math.floor(v / 2 ** (power - SUB_BITS)) & (SUB_BUCKETS - 1);
  return EXACT + (power - EXACT_BITS) * SUB_BUCKETS + sub;
}

/** The smallest value (µs) a bucket holds. */
export function bucketLow(i: number): number {
  if (i < EXACT) return i;
  const power = EXACT_BITS + Math.floor((i - EXACT) / SUB_BUCKETS);
  const sub = (i - EXACT) % SUB_BUCKETS;
  return 2 ** power + sub * 2 ** (power - SUB_BITS);
}

/** The largest value (µs) a bucket holds, exclusive. */
export function bucketHigh(i: number): number {
  return i + 1 < BUCKETS ? bucketLow(i + 1) : 2 ** (MAX_POWER + 1);
}

/** A histogram as it travels (protobuf, JSON): only the non-empty buckets. */
export interface SparseHistogram {
  /** Bucket indexes, ascending. */
  buckets: number[];
  counts: number[];
}

export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  total = 0;
  /** Sum of recorded values, µs (for the mean). */
  sum = 0;

  record(us: number, times = 1): void {
    this.counts[bucketOf(us)]! += times;
    this.total += times;
    this.sum += us * times;
  }

  /** Add another histogram's counts (sum is estimated from bucket midpoints
   * when the other carries none). */
  merge(other: Histogram | SparseHistogram, sum?: number): this {
    if (other instanceof Histogram) {
      for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
      this.total += other.total;
      this.sum += other.sum;
      return this;
    }
    let est = 0;
    other.buckets.forEach((b, k) => {
      const n = other.counts[k] ?? 0;
      if (b < 0 || b >= BUCKETS || !(n > 0)) return;
      this.counts[b]! += n;
      this.total += n;
      est += n * ((bucketLow(b) + bucketHigh(b)) / 2);
    });
    this.sum += sum ?? est;
    return this;
  }

  /** Add counts given bucket by bucket (as an instance reports them). */
  mergeDense(counts: ArrayLike<number>, sum: number): this {
    const n = Math.min(counts.length, BUCKETS);
    for (let i = 0; i < n; i++) {
      const c = counts[i]!;
      if (!(c > 0)) continue;
      this.counts[i]! += c;
      this.total += c;
    }
    this.sum += sum;
    return this;
  }

  /** The value (µs) at quantile q (0..1): the upper edge of the bucket the
   * q-th value falls in, so a quantile is never under-reported. 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i < EXACT ? i + 1 : bucketHigh(i);
    }
    return bucketHigh(BUCKETS - 1);
  }

  mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /** Count of recorded values at or below us (µs), for cumulative buckets. */
  countBelow(us: number): number {
    let n = 0;
    for (let i = 0; i < BUCKETS && bucketHigh(i) <= us; i++) n += this.counts[i]!;
    return n;
  }

  sparse(): SparseHistogram {
    const buckets: number[] = [];
    const counts: number[] = [];
    this.counts.forEach((n, i) => {
      if (n > 0) {
        buckets.push(i);
        counts.push(n);
      }
    });
    return { buckets, counts };
  }

  static fromSparse(s: SparseHistogram, sum?: number): Histogram {
    return new Histogram().merge(s, sum);
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
  }
}
