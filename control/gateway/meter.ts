/**
 * What the gateway saw of one chain: its answers by status and code, and
 * the latency of every request it sent into the chain (dispatch to reply).
 * Cumulative: whoever reads it (StreamStats, /metrics) takes differences.
 */
import { Histogram } from '../metrics/histogram.js';

export class GatewayMeter {
  /** "200", "504 timeout" -> count. */
  readonly responses = new Map<string, number>();
  readonly latency = new Histogram();

  /** One answer; ms when the request went into the chain (dispatch to reply). */
  observe(status: number, code: string | undefined, ms?: number): void {
    const key = code ? `${status} ${code}` : String(status);
    this.responses.set(key, (this.responses.get(key) ?? 0) + 1);
    if (ms !== undefined) this.latency.record(ms * 1000);
  }
}
