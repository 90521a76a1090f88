/**
 * Knative's TimedFloat64Buckets, ported line for line from
 * knative/serving pkg/autoscaler/aggregation/bucketing.go (commit
 * 98e5ef90aa7033797aa0a61ef97f3ff7e49a3944): a ring of per-granularity sums
 * covering a window, whose average is taken over the buckets that hold data
 * (a partial window right after the first write or after a gap; a gap
 * shorter than the window counts as zeros; no write for a whole window
 * empties it). Times are milliseconds on any monotonic clock.
 */
const PRECISION = 6;

function roundToNDigits(n: number, f: number): number {
  const p = 10 ** n;
  return Math.round(f * p) / p;
}

export class TimedBuckets {
  private buckets: number[];
  /** null: never written (Go's zero time). */
  private firstWrite: number | null = null;
  private lastWrite = Number.NEGATIVE_INFINITY;
  private windowTotal = 0;

  constructor(
    private readonly windowMs: number,
    private readonly granularityMs: number,
  ) {
    // e.g. 60 s / 1 s = 60 buckets.
    this.buckets = new Array<number>(Math.ceil(windowMs / granularityMs)).fill(0);
  }

  private truncate(t: number): number {
    return Math.floor(t / this.granularityMs) * this.granularityMs;
  }

  private timeToIndex(t: number): number {
    return Math.floor(t / this.granularityMs);
  }

  private slot(i: number): number {
    return ((i % this.buckets.length) + this.buckets.length) % this.buckets.length;
  }

  /** No data recorded for the window. */
  isEmpty(nowMs: number): boolean {
    return this.truncate(nowMs) - this.lastWrite > this.windowMs;
  }

  windowAverage(nowMs: number): number {
    const now = this.truncate(nowMs);
    const d = now - this.lastWrite;
    const first = this.firstWrite ?? now;
    const written = Math.floor((this.lastWrite - first) / this.granularityMs) + 1; // +1: both ends inclusive
    if (d <= 0) return roundToNDigits(PRECISION, this.windowTotal / Math.min(written, this.buckets.length));
    if (d < this.windowMs) {
      // No data for a while, less than the window: drop what the idle
      // buckets held a window ago and average over the valid ones.
      const st = this.timeToIndex(this.lastWrite);
      const e = this.timeToIndex(now);
      let ret = this.windowTotal;
      for (let i = st + 1; i <= e; i++) ret -= this.buckets[this.slot(i)] ?? 0;
      return roundToNDigits(PRECISION, ret / Math.min(written, this.buckets.length - (e - st)));
    }
    return 0;
  }

  record(nowMs: number, value: number): void {
    const bucketTime = this.truncate(nowMs);
    const writeIdx = this.timeToIndex(nowMs);
    if (this.lastWrite !== bucketTime) {
      if (bucketTime + this.windowMs <= this.lastWrite) return; // older than the window: ignored
      if (this.firstWrite === null || this.firstWrite > bucketTime) this.firstWrite = bucketTime;
      if (bucketTime > this.lastWrite) {
        if (bucketTime - this.lastWrite >= this.windowMs) {
          // Nothing for a whole window: start over.
          this.firstWrite = bucketTime;
          this.buckets.fill(0);
          this.windowTotal = 0;
        } else {
          // Clear the buckets skipped since the last write.
          for (let i = this.timeToIndex(this.lastWrite) + 1; i <= writeIdx; i++) {
            const s = this.slot(i);
            this.windowTotal -= this.buckets[s] ?? 0;
            this.buckets[s] = 0;
          }
        }
        this.lastWrite = bucketTime;
      }
    }
    const s = this.slot(writeIdx);
    this.buckets[s] = (this.buckets[s] ?? 0) + value;
    this.windowTotal += value;
  }
}
