/**
 * Messages per second per instance, from the monotonically growing BPF
 * counters each node streams: the rate over the last two samples.
 */
interface Sample {
  timeMs: number;
  count: number;
  perSec: number;
}

export class RateMeter {
  private readonly samples = new Map<number, Sample>();

  observe(instance: number, timeMs: number, count: number): void {
    const prev = this.samples.get(instance);
    let perSec = 0;
    // A counter that went down belongs to a new instance under the same id.
    if (prev && timeMs > prev.timeMs && count >= prev.count) perSec = ((count - prev.count) * 1000) / (timeMs - prev.timeMs);
    this.samples.set(instance, { timeMs, count, perSec });
  }

  perSec(instance: number): number {
    return this.samples.get(instance)?.perSec ?? 0;
  }

  forget(instance: number): void {
    this.samples.delete(instance);
  }
}
