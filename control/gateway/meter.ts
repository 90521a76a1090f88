/**
 * What the gateway saw of one chain: its answers by status and code, and
 * the latency of every request it sent into the chain (dispatch to reply),
 * and how long requests that waited for a stage scaled to zero took.
 * Cumulative: whoever reads it (StreamStats, /metrics) takes differences.
 */
import { Histogram } from '../metrics/histogram.js';

export class GatewayMeter {
  /** "200", "504 timeout" -> count. */
  readonly responses = new Map<string, number>();
  readonly latency = new Histogram();
  /** Arrival to reply of requests held while a stage was scaled to zero. */
  readonly coldStart = new Histogram();

  /** One answer; ms when the request went into the chain (dispatch to reply). */
  observe(status: number, code: string | undefined, ms?: number): void {
    const key = code ? `${status} ${code}` : String(status);
    this.responses.set(key, (this.responses.get(key) ?? 0) + 1);
    if (ms !== undefined) this.latency.record(ms * 1000);
  }

  /** A request that waited for a stage to start was answered, ms after it arrived. */
  observeColdStart(ms: number): void {
    this.coldStart.record(ms * 1000);
  }
}
