/**
 * Open-loop HTTP load at a fixed rate through bench/lib/paced-load.ts:
 * each request sent at its due time and timed from it, so a system that
 * falls behind shows its queue in the percentiles.
 */
import { paced } from '../../lib/paced-load.js';
import { summariseLatencies, type LatencySummary } from '../measure/latency.js';

export interface OpenOptions {
  url: string;
  bodies: readonly string[];
  rate: number;
  durationS: number;
}

export interface OpenResult {
  rate: number;
  durationS: number;
  sent: number;
  ok: number;
  failed: number;
  /** How far the sender ever fell behind a due time (the load generator's own lag). */
  maxLagMs: number;
  latency: LatencySummary;
}

export async function openLoop(o: OpenOptions): Promise<OpenResult> {
  const r = await paced({ url: o.url, rate: o.rate, durationMs: o.durationS * 1000, body: (i) => o.bodies[i % o.bodies.length]!, timeoutMs: 10_000 });
  let ok = 0;
  for (const [status, n] of r.statuses) if (status >= 200 && status < 300) ok += n;
  // Only answered 2xx requests carry a latency worth summarising.
  const latencies = r.latenciesMs.map((ms, i) => (i < r.sent ? ms : NaN));
  return { rate: o.rate, durationS: o.durationS, sent: r.sent, ok, failed: r.sent - ok, maxLagMs: Math.round(r.maxLagMs * 10) / 10, latency: summariseLatencies(latencies) };
}
