/**
 * summary.json from the raw runs: per system and chain the numbers issue
 * #10 asks for, and the ratios of each ferry mode against every other
 * system that ran. Pure: raw in, summary out.
 */
import { isFerry } from './systems/index.js';
import type { SystemRun } from './results.js';
import type { SystemName } from './system.js';

export interface ChainSummary {
  sloP99Ms: number | null;
  /** Highest closed-loop throughput whose p99 met the SLO with no failures (0: no level did). */
  maxRps: number | null;
  maxAtConnections: number | null;
  /** The paced rate every system got on this chain, and what it saw there. */
  fixedRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  fixedFailed: number | null;
  reqPerCpuSecond1KiB: number | null;
  reqPerCpuSecond64KiB: number | null;
  /** The body "64 KiB" was on this chain (smaller where maxBodyBytes is). */
  bytes64KiB: number | null;
}

export interface SweepPointSummary {
  nominalBytes: number;
  bytes: number;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
}

export interface SystemSummary {
  chains: Record<string, ChainSummary>;
  sweep: SweepPointSummary[];
  sweepChain: string | null;
  idlePercentOfCore: number | null;
  idleChains: number | null;
  errors: string[];
}

export interface ChainRatios {
  /** ferry / other: > 1 means ferry served more. */
  maxRps: number | null;
  reqPerCpuSecond1KiB: number | null;
  reqPerCpuSecond64KiB: number | null;
  /** other p99 / ferry p99 at the fixed rate: > 1 means ferry's is lower. */
  p99LowerX: number | null;
}

export interface Ratios {
  ferry: SystemName;
  other: SystemName;
  chains: Record<string, ChainRatios>;
  /** other p99 / ferry p99 per sweep size (nominal bytes). */
  sweepP99LowerX: Record<string, number | null>;
  /** other idle CPU / ferry idle CPU. */
  idleLowerX: number | null;
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? null : Math.round((a / b) * 100) / 100;

export function summariseSystem(run: SystemRun, chains: readonly string[]): SystemSummary {
  const out: Record<string, ChainSummary> = {};
  for (const chain of chains) {
    const max = run.max.find((m) => m.chain === chain);
    const fixed = run.fixed.find((f) => f.chain === chain);
    const cpu1 = run.perCpu.find((p) => p.chain === chain && p.nominalBytes === 1024);
    const cpu64 = run.perCpu.find((p) => p.chain === chain && p.nominalBytes === 65536);
    out[chain] = {
      sloP99Ms: max?.sloP99Ms ?? null,
      maxRps: max?.maxRps ?? null,
      maxAtConnections: max?.atConnections ?? null,
      fixedRate: fixed?.rate ?? null,
      p50Ms: fixed?.result.latency.p50Ms ?? null,
      p99Ms: fixed?.result.latency.p99Ms ?? null,
      p999Ms: fixed?.result.latency.p999Ms ?? null,
      fixedFailed: fixed?.result.failed ?? null,
      reqPerCpuSecond1KiB: cpu1?.reqPerCpuSecond ?? null,
      reqPerCpuSecond64KiB: cpu64?.reqPerCpuSecond ?? null,
      bytes64KiB: cpu64?.bytes ?? null,
    };
  }
  return {
    chains: out,
    sweepChain: run.sweep[0]?.chain ?? null,
    sweep: run.sweep.map((s) => ({
      nominalBytes: s.nominalBytes,
      bytes: s.bytes,
      rate: s.result.rate,
      p50Ms: s.result.latency.p50Ms,
      p99Ms: s.result.latency.p99Ms,
      failed: s.result.failed,
    })),
    idlePercentOfCore: run.idle?.percentOfCore ?? null,
    idleChains: run.idle?.chains.length ?? null,
    errors: run.errors,
  };
}

/** Each ferry mode against every other system present (the other ferry mode included). */
export function ratiosOf(results: Partial<Record<SystemName, SystemSummary>>, chains: readonly string[]): Ratios[] {
  const names = Object.keys(results) as SystemName[];
  const out: Ratios[] = [];
  for (const ferry of names.filter(isFerry)) {
    for (const other of names.filter((n) => n !== ferry)) {
      const f = results[ferry]!;
      const o = results[other]!;
      const perChain: Record<string, ChainRatios> = {};
      for (const chain of chains) {
        const fc = f.chains[chain];
        const oc = o.chains[chain];
        perChain[chain] = {
          maxRps: ratio(fc?.maxRps, oc?.maxRps),
          reqPerCpuSecond1KiB: ratio(fc?.reqPerCpuSecond1KiB, oc?.reqPerCpuSecond1KiB),
          reqPerCpuSecond64KiB: ratio(fc?.reqPerCpuSecond64KiB, oc?.reqPerCpuSecond64KiB),
          p99LowerX: ratio(oc?.p99Ms, fc?.p99Ms),
        };
      }
      const sweep: Record<string, number | null> = {};
      for (const p of f.sweep) sweep[String(p.nominalBytes)] = ratio(o.sweep.find((q) => q.nominalBytes === p.nominalBytes)?.p99Ms, p.p99Ms);
      out.push({ ferry, other, chains: perChain, sweepP99LowerX: sweep, idleLowerX: ratio(o.idlePercentOfCore, f.idlePercentOfCore) });
    }
  }
  return out;
}
