/**
 * The short-horizon arrival forecast: Holt's linear method (double
 * exponential smoothing), a level and a trend per second, updated at every
 * sample. Chosen over a plain EWMA because a rising rate must be met before
 * it arrives: an EWMA only lags it, Holt's trend extrapolates it over the
 * time an instance takes to start. Over a few seconds ahead that is all
 * the structure a 1 s signal supports; seasonal models (Holt-Winters) want
 * the period, which a chain does not state.
 */
export class HoltForecast {
  private level: number | undefined;
  /** Change of the level per second. */
  private trend = 0;
  private lastMs = 0;

  constructor(
    /** Weight of a new sample in the level, (0, 1]. */
    private readonly alpha: number,
    /** Weight of a new level change in the trend, [0, 1]. */
    private readonly beta: number,
  ) {}

  update(nowMs: number, value: number): void {
    if (this.level === undefined) {
      this.level = value;
      this.lastMs = nowMs;
      return;
    }
    const dt = (nowMs - this.lastMs) / 1000;
    if (dt <= 0) return;
    const prev = this.level;
    this.level = this.alpha * value + (1 - this.alpha) * (prev + this.trend * dt);
    this.trend = (this.beta * (this.level - prev)) / dt + (1 - this.beta) * this.trend;
    this.lastMs = nowMs;
  }

  /** The smoothed rate now (0 before any sample). */
  get current(): number {
    return Math.max(0, this.level ?? 0);
  }

  get slopePerSec(): number {
    return this.trend;
  }

  /** The rate expected aheadMs after the last sample; never negative. */
  forecast(aheadMs: number): number {
    return Math.max(0, (this.level ?? 0) + (this.trend * aheadMs) / 1000);
  }
}
