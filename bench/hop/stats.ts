/** From a driver's raw round-trip samples to one result row. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime, Transport } from './options.js';

/** What a pinger prints per case (bench/hop/native/hop.c, node/driver.ts). */
export interface CaseLine {
  size: number;
  iterations: number;
  warmup: number;
  failed: boolean;
  verified: boolean;
  note: string;
}

export interface HopResult {
  transport: Transport;
  runtime: Runtime;
  payloadBytes: number;
  /** One hop = round trip / 2. */
  p50us: number;
  p99us: number;
  minUs: number;
  /** Hops per second over the measured loop. */
  msgsPerSec: number;
  iterations: number;
  warmup: number;
  /** Every reply checked out (for ferry: the very buffer sent, intact). */
  verified: boolean;
  note?: string;
  /** Set when the case did not complete. */
  error?: string;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function summarise(rttNs: BigUint64Array): Pick<HopResult, 'p50us' | 'p99us' | 'minUs' | 'msgsPerSec' | 'iterations'> {
  const hops = new Float64Array(rttNs.length);
  let total = 0;
  for (let i = 0; i < rttNs.length; i++) {
    const rtt = Number(rttNs[i]);
    total += rtt;
    hops[i] = rtt / 2;
  }
  hops.sort();
  return {
    p50us: round2(percentile(hops, 0.5) / 1000),
    p99us: round2(percentile(hops, 0.99) / 1000),
    minUs: round2((hops[0] ?? NaN) / 1000),
    // The samples are back to back, so their sum is the loop's wall time.
    msgsPerSec: total > 0 ? Math.round((2 * rttNs.length) / (total / 1e9)) : 0,
    iterations: rttNs.length,
  };
}

export function readSamples(dir: string, size: number): BigUint64Array {
  const file = join(dir, `${size}.bin`);
  if (!existsSync(file)) return new BigUint64Array(0);
  const bytes = readFileSync(file);
  // Copy into an aligned buffer: a Buffer may start at any offset of its pool.
  const out = new BigUint64Array(Math.floor(bytes.length / 8));
  new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 8));
  return out;
}

/** The row of one case; a size the pinger did not finish becomes an error
 * row carrying why (failure: the pinger's exit and stderr; a failed round
 * trip: the pinger's note). */
export function resultRow(
  transport: Transport,
  runtime: Runtime,
  size: number,
  line: CaseLine | undefined,
  dir: string,
  failure: string | undefined,
): HopResult {
  const base = { transport, runtime, payloadBytes: size };
  const samples = line ? readSamples(dir, size) : new BigUint64Array(0);
  const error = !line
    ? (failure ?? 'pinger reported nothing for this size')
    : line.failed
      ? `a round trip failed: ${line.note || failure || 'no reason given'}`
      : samples.length === 0
        ? 'no samples'
        : undefined;
  return {
    ...base,
    ...summarise(samples),
    warmup: line?.warmup ?? 0,
    verified: !!line?.verified && !error,
    ...(line?.note ? { note: line.note } : {}),
    ...(error ? { error } : {}),
  };
}
