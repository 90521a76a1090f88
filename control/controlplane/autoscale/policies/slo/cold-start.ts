/**
 * How long this stage's instances take to start, learnt from what the
 * policy sees: an instance asked for (the count went up) becomes ready a
 * cold start later (the ready count goes up), first asked first ready. The
 * signals carry no start times, and a stage's cold start is its own (a Node
 * handler's imports, a sandbox's cgroup): the runtime's prior only until
 * the first start is seen. Samples come a stats interval apart, so a start
 * seen as asked and ready in one sample took less than an interval: no
 * news beyond the prior. The estimate is the larger of the prior and the
 * median of the recent starts seen.
 */
const REMEMBERED = 8;

export class ColdStarts {
  private asked: number[] = [];
  private readonly seen: number[] = [];
  private lastCurrent: number | undefined;
  private lastReady: number | undefined;

  constructor(private readonly priorMs: number) {}

  update(nowMs: number, current: number, ready: number): void {
    if (this.lastCurrent !== undefined && this.lastReady !== undefined) {
      for (let i = this.lastCurrent; i < current; i++) this.asked.push(nowMs);
      // Fewer asked than before: the newest asks were dropped first.
      if (current < this.lastCurrent) this.asked = this.asked.slice(0, Math.max(0, this.asked.length - (this.lastCurrent - current)));
      for (let i = this.lastReady; i < ready; i++) {
        const t = this.asked.shift();
        if (t === undefined) break;
        if (t === nowMs) continue; // within one interval
        this.seen.push(nowMs - t);
        if (this.seen.length > REMEMBERED) this.seen.shift();
      }
    }
    this.lastCurrent = current;
    this.lastReady = ready;
  }

  estimateMs(): number {
    if (this.seen.length === 0) return this.priorMs;
    const sorted = [...this.seen].sort((a, b) => a - b);
    return Math.max(this.priorMs, sorted[Math.floor(sorted.length / 2)] as number);
  }
}
