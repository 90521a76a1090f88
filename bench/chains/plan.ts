/**
 * What the chain suite runs: its chains and, for each measurement, the
 * durations, levels and sizes, taken from the scenario files
 * (bench/scenarios/max.json, steady.json, sweep.json: the same ones the k6
 * scripts read) for a full run, or cut down for --quick, which only checks
 * that the whole pipeline works.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../control/paths.js';
import { loadScenario, scenarioDir } from '../scenarios/load.js';
import type { MaxScenario, SteadyScenario, SweepScenario } from '../scenarios/scenario.js';
import type { ChainUnderTest } from './system.js';

/** The chains issue #10 names, in run order; pipeline is the 5-stage pass-through chain. */
export const SUITE_CHAINS = ['motion', 'parking', 'online-boutique', 'pipeline'] as const;
/** --quick's chains: one with a native stage, and the 5-stage one every
 * per-CPU and sweep measurement needs; enough to check each phase. */
export const QUICK_CHAINS = ['motion', 'pipeline'] as const;
/** Chains requests-per-CPU-second is measured on. */
export const PER_CPU_CHAINS = ['online-boutique', 'pipeline'];
/** Where the payload sweep runs, and the chain it falls back to without it. */
export const SWEEP_CHAIN = 'pipeline';
export const SWEEP_FALLBACK = 'motion';

export interface SuitePlan {
  quick: boolean;
  /** Unrecorded closed-loop load per chain after each bring-up. */
  warmupS: number;
  /** Closed-loop connection levels of the max search (doubling). */
  maxConnections: number[];
  maxLevelS: number;
  /** Paced run at half the slowest system's max. */
  fixedS: number;
  perCpuConnections: number;
  perCpuS: number;
  /** Nominal body sizes for requests per CPU-second (capped at a chain's maxBodyBytes). */
  perCpuBytes: number[];
  sweepBytes: number[];
  sweepS: number;
  /** The sweep's rate, before the cap at half the slowest system's max on its chain. */
  sweepRate: number;
  /** --quick only: the one paced rate every fixed-rate and sweep run uses,
   * known in advance so a system is brought up once for all its load
   * (null: half the slowest system's max, which needs every max first). */
  quickRate: number | null;
  /** Chains deployed during the idle measurement. */
  idleChains: number;
  idleSettleS: number;
  idleS: number;
  /** Where the numbers come from, for the report. */
  sources: string[];
}

const doublings = (upTo: number) => {
  const out: number[] = [];
  for (let c = 1; c <= upTo; c *= 2) out.push(c);
  return out;
};

/**
 * scale (0 < scale <= 1) shortens a full run's load durations (levels,
 * fixed-rate, per-CPU and sweep runs; not the idle window, whose 60 s is
 * the target's): a full five-system run takes about 90 minutes at 1, 45 at
 * 0.5.
 */
export function suitePlan(quick: boolean, scale = 1): SuitePlan {
  const max = loadScenario(join(scenarioDir, 'max.json')) as MaxScenario;
  const steady = loadScenario(join(scenarioDir, 'steady.json')) as SteadyScenario;
  const sweep = loadScenario(join(scenarioDir, 'sweep.json')) as SweepScenario;
  const levels = doublings(max.connections);
  const sources = [
    `max: ${max.durationS} s over ${levels.length} doublings of 1..${max.connections} connections (bench/scenarios/max.json)`,
    `fixed rate: ${steady.durationS} s per chain (bench/scenarios/steady.json's duration)`,
    `sweep: ${sweep.durationS} s per size at up to ${sweep.rate}/s (bench/scenarios/sweep.json's duration and rate; sizes 64 B..1 MiB for the pipeline chain, as issue #10 asks, where sweep.json stops at motion's limit)`,
  ];
  if (quick)
    return {
      quick,
      warmupS: 1,
      maxConnections: [1, 8],
      maxLevelS: 1,
      fixedS: 2,
      perCpuConnections: 16,
      perCpuS: 2,
      perCpuBytes: [1024, 65536],
      sweepBytes: [64, 65536, 1048576],
      sweepS: 1,
      sweepRate: 20,
      quickRate: 20,
      idleChains: 10,
      idleSettleS: 1,
      idleS: 4,
      sources: ['--quick: two chains (motion, pipeline), every duration cut to 1-2 s, two connection levels, three sizes, one fixed low rate, 4 s idle (a full run takes its durations from bench/scenarios/max.json, steady.json and sweep.json): checks the pipeline, not the targets'],
    };
  if (!(scale > 0 && scale <= 1)) throw new Error(`--scale takes a number in (0, 1], not ${scale}`);
  const scaled = (s: number) => Math.max(1, Math.round(s * scale));
  if (scale < 1) sources.push(`--scale ${scale}: those durations (not the idle window) multiplied by ${scale}`);
  return {
    quick,
    // Node's JIT keeps compiling for ~20 s under new load (ferry's daemon
    // settled after ~20 s in a --trace-opt run): warm every system alike.
    warmupS: 15,
    maxConnections: levels,
    maxLevelS: scaled(max.durationS / levels.length),
    fixedS: scaled(steady.durationS),
    perCpuConnections: 16,
    perCpuS: scaled(20),
    perCpuBytes: [1024, 65536],
    sweepBytes: [64, 1024, 16384, 65536, 262144, 1048576],
    sweepS: scaled(sweep.durationS),
    sweepRate: sweep.rate,
    quickRate: null,
    idleChains: 10,
    idleSettleS: 15,
    idleS: 60,
    sources,
  };
}

/** The chains asked for that exist in this checkout, and those that do not. */
export function suiteChains(names: readonly string[] = SUITE_CHAINS, root = repoRoot): { chains: ChainUnderTest[]; skipped: string[] } {
  const chains: ChainUnderTest[] = [];
  const skipped: string[] = [];
  for (const name of names) {
    const file = join(root, 'chains', name, 'chain.yaml');
    if (existsSync(file)) chains.push({ name, file });
    else skipped.push(name);
  }
  return { chains, skipped };
}
