/**
 * What the suite keeps of a run's latencies: the percentiles the summary
 * reports and a CDF with its points packed towards the tail (p99 and
 * p99.9 are where systems differ), small enough for raw.json.
 */
import { percentiles } from '../../lib/paced-load.js';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** [fraction, ms] pairs, fraction ascending: the latency CDF. */
  cdf: [number, number][];
}

/** Quantiles the CDF is drawn at: even steps to 0.9, then 0.9..0.999 on a log scale of 1-q, then 1. */
export const CDF_QUANTILES: readonly number[] = (() => {
  const qs: number[] = [];
  for (let i = 1; i <= 18; i++) qs.push(i * 0.05);
  for (let k = 1; k <= 3; k += 0.25) qs.push(1 - 10 ** -k);
  qs.push(1);
  return [...new Set(qs.map((q) => Math.round(q * 1e6) / 1e6))].sort((a, b) => a - b);
})();

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export function summariseLatencies(latenciesMs: readonly number[]): LatencySummary {
  const ps = [0.5, 0.99, 0.999, 1, ...CDF_QUANTILES];
  const v = percentiles(latenciesMs, ps);
  const count = latenciesMs.filter((x) => Number.isFinite(x)).length;
  return {
    count,
    p50Ms: r3(v[0]!),
    p99Ms: r3(v[1]!),
    p999Ms: r3(v[2]!),
    maxMs: r3(v[3]!),
    cdf: count === 0 ? [] : CDF_QUANTILES.map((q, i) => [q, r3(v[4 + i]!)]),
  };
}
