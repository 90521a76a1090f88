/**
 * `--suite chains`: every system in turn (never two up at once), twice:
 * first its capacity (max per chain, requests per CPU-second), then, once
 * every system's max is known, its latency at equal offered load (the
 * fixed-rate run per chain, the payload sweep) and, up again with ten
 * chains, its idle CPU.
 * A system that fails to come up or fails a measurement is recorded and
 * the suite goes on with the next.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chainFacts, type ChainFacts } from './bodies.js';
import { fixedRate, idle, maxSearch, perCpu, sweep, warmUp } from './phases.js';
import { PER_CPU_CHAINS, QUICK_CHAINS, SUITE_CHAINS, SWEEP_CHAIN, SWEEP_FALLBACK, suiteChains, suitePlan, type SuitePlan } from './plan.js';
import { Progress } from './progress.js';
import type { SystemRun } from './results.js';
import { declaredMillicpu, writeRenamedChain } from './systems/chain-copy.js';
import { selectSystems } from './systems/index.js';
import type { ChainUnderTest, RunningSystem, SystemUnderTest } from './system.js';

/** A chain without spec.slo is held to this p99 (bench/scenarios' max.json threshold). */
const FALLBACK_SLO_MS = 50;
/** Rough seconds to bring a system up and down, for the ETA only. */
const UP_DOWN_S = 15;
/** Each system may use 200 ports from its base (system.ts). */
const PORTS_PER_SYSTEM = 200;

export interface ChainSuiteOptions {
  quick: boolean;
  systems?: readonly string[];
  chains?: readonly string[];
  portBase: number;
  log: (m: string) => void;
  /** Full runs: load durations multiplied by this (0, 1]; see suitePlan. */
  scale?: number;
}

export interface EqualLoad {
  /** Per chain: the paced rate every system gets, and how it was found. */
  fixed: Record<string, { rate: number; slowestMaxRps: number; how: string }>;
  sweep: { chain: string; rate: number; how: string } | null;
}

export interface ChainSuiteRaw {
  plan: SuitePlan;
  chains: string[];
  skippedChains: string[];
  systems: string[];
  equalLoad: EqualLoad;
  runs: SystemRun[];
  idleChains: string[];
}

function plannedSeconds(plan: SuitePlan, systems: number, chains: number, perCpuChains: number): number {
  const perSystem =
    (plan.quickRate === null ? 3 : 2) * UP_DOWN_S +
    chains * (plan.maxConnections.length * plan.maxLevelS + plan.warmupS * (plan.quickRate === null ? 2 : 1)) +
    perCpuChains * plan.perCpuBytes.length * plan.perCpuS +
    plan.idleSettleS + plan.idleS +
    chains * plan.fixedS +
    plan.sweepBytes.length * plan.sweepS;
  return systems * perSystem;
}

/** Half the slowest system's max (at least 1/s); when none met the SLO
 * anywhere, half the slowest single-connection throughput. */
export function equalRate(runs: readonly SystemRun[], chain: string): { rate: number; slowestMaxRps: number; how: string } {
  const maxes = runs.map((r) => r.max.find((m) => m.chain === chain)).filter((m) => m !== undefined);
  const met = maxes.filter((m) => m.maxRps > 0).map((m) => m.maxRps);
  if (met.length === maxes.length && met.length > 0) {
    const slowest = Math.min(...met);
    return { rate: Math.max(1, Math.floor(slowest / 2)), slowestMaxRps: slowest, how: 'half the slowest system\'s max' };
  }
  const first = maxes.map((m) => m.levels[0]?.rps ?? 0).filter((x) => x > 0);
  const slowest = first.length > 0 ? Math.min(...first) : 2;
  return { rate: Math.max(1, Math.floor(slowest / 2)), slowestMaxRps: 0, how: 'a system met the SLO at no level (or was not measured): half the slowest 1-connection throughput' };
}

async function withSystem(
  sys: SystemUnderTest,
  chains: readonly ChainUnderTest[],
  workDir: string,
  portBase: number,
  run: SystemRun,
  progress: Progress,
  log: (m: string) => void,
  body: (s: RunningSystem) => Promise<void>,
): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  progress.step(`${sys.name}: bringing it up with ${chains.length} chains`, UP_DOWN_S);
  let running: RunningSystem;
  try {
    running = await sys.up(chains, { portBase, workDir, log });
  } catch (err) {
    run.errors.push(`up: ${(err as Error).message}`);
    log(`${sys.name}: did not come up: ${(err as Error).message}`);
    return;
  }
  // A system left up would keep its processes, ports and BPF pins (ferry's
  // supervisor runs detached, so Ctrl-C does not reach it): take it down first.
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: taking ${sys.name} down`);
    void running.down().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await body(running);
  } catch (err) {
    run.errors.push((err as Error).message);
    log(`${sys.name}: ${(err as Error).message}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await running.down().catch((err: Error) => run.errors.push(`down: ${err.message}`));
  }
}

export async function runChainSuite(o: ChainSuiteOptions): Promise<ChainSuiteRaw> {
  const plan = suitePlan(o.quick, o.scale ?? 1);
  const systems = selectSystems(o.systems);
  const asked = o.chains ?? (o.quick ? QUICK_CHAINS : SUITE_CHAINS);
  const { chains, skipped } = suiteChains(asked);
  if (chains.length === 0) throw new Error(`none of the chains ${asked.join(', ')} exists under chains/`);
  if (skipped.length > 0) o.log(`skipping chains not in this checkout: ${skipped.join(', ')}`);
  const facts = new Map<string, ChainFacts>(chains.map((c) => [c.name, chainFacts(c, FALLBACK_SLO_MS)]));
  const perCpuChains = chains.filter((c) => PER_CPU_CHAINS.includes(c.name));
  const sweepChain = chains.find((c) => c.name === SWEEP_CHAIN) ?? chains.find((c) => c.name === SWEEP_FALLBACK) ?? chains[0]!;
  const work = mkdtempSync(join(tmpdir(), 'ferry-chain-suite-'));
  // Also when a signal ends the run (withSystem exits after taking the system down).
  const removeWork = () => rmSync(work, { recursive: true, force: true });
  process.once('exit', removeWork);
  o.log(`work dir ${work} (chain copies, systems' state; removed at the end)`);
  // Ten chains deployed for the idle measurement: renamed copies of the
  // chain declaring the least CPU, since placement admits chains by
  // declared CPU and ten of the larger ones do not fit a 2-core node.
  const lightest = [...chains].sort((a, b) => declaredMillicpu(a.file) - declaredMillicpu(b.file))[0]!;
  const idleSet = Array.from({ length: plan.idleChains }, (_, i) => writeRenamedChain(lightest, join(work, 'idle-chains'), `${lightest.name}-idle-${i}`));
  const progress = new Progress(plannedSeconds(plan, systems.length, chains.length, perCpuChains.length), o.log);
  const runs: SystemRun[] = systems.map((s) => ({ system: s.name, max: [], perCpu: [], fixed: [], sweep: [], errors: [] }));
  const portOf = (i: number) => o.portBase + i * PORTS_PER_SYSTEM;
  const sweepNote = sweepChain.name === SWEEP_CHAIN ? '' : `; ${SWEEP_CHAIN} is not in this checkout, so the sweep runs on ${sweepChain.name}`;
  const capacity = (run: SystemRun) => async (s: RunningSystem) => {
    for (const c of chains) run.max.push(await maxSearch(s, facts.get(c.name)!, plan, progress));
    for (const c of perCpuChains) for (const bytes of plan.perCpuBytes) run.perCpu.push(await perCpu(s, facts.get(c.name)!, bytes, plan, progress));
  };
  const latency = (run: SystemRun, load: EqualLoad, warm: boolean) => async (s: RunningSystem) => {
    if (warm) for (const c of chains) await warmUp(s, facts.get(c.name)!, plan, progress);
    for (const c of chains) run.fixed.push(await fixedRate(s, facts.get(c.name)!, load.fixed[c.name]!.rate, plan, progress));
    if (load.sweep) run.sweep.push(...(await sweep(s, facts.get(load.sweep.chain)!, load.sweep.rate, plan, progress)));
  };
  const idleOf = (run: SystemRun) => async (s: RunningSystem) => {
    run.idle = await idle(s, idleSet.map((c) => c.name), plan, progress);
  };
  let equalLoad: EqualLoad;
  try {
    if (plan.quickRate !== null) {
      // --quick checks the pipeline, not the targets: one equal rate fixed
      // in advance, so capacity and latency share one bring-up per system.
      const rate = plan.quickRate;
      equalLoad = {
        fixed: Object.fromEntries(chains.map((c) => [c.name, { rate, slowestMaxRps: 0, how: '--quick: a fixed low rate, not half the slowest max' }])),
        sweep: { chain: sweepChain.name, rate, how: `--quick: the same fixed low rate${sweepNote}` },
      };
      for (const [i, sys] of systems.entries()) {
        const run = runs[i]!;
        await withSystem(sys, chains, join(work, sys.name, 'load'), portOf(i), run, progress, o.log, async (s) => {
          await capacity(run)(s);
          await latency(run, equalLoad, false)(s); // warm from the capacity runs
        });
        await withSystem(sys, idleSet, join(work, sys.name, 'idle'), portOf(i), run, progress, o.log, idleOf(run));
      }
    } else {
      for (const [i, sys] of systems.entries()) await withSystem(sys, chains, join(work, sys.name, 'capacity'), portOf(i), runs[i]!, progress, o.log, capacity(runs[i]!));
      equalLoad = { fixed: {}, sweep: null };
      for (const c of chains) equalLoad.fixed[c.name] = equalRate(runs, c.name);
      const sweepCap = equalLoad.fixed[sweepChain.name]!;
      equalLoad.sweep = {
        chain: sweepChain.name,
        rate: Math.max(1, Math.min(plan.sweepRate, sweepCap.rate)),
        how: `the smaller of ${plan.sweepRate}/s and the fixed rate on ${sweepChain.name} (${sweepCap.rate}/s)${sweepNote}`,
      };
      o.log(`equal offered load: ${Object.entries(equalLoad.fixed).map(([c, f]) => `${c} ${f.rate}/s`).join(', ')}; sweep ${equalLoad.sweep.chain} ${equalLoad.sweep.rate}/s`);
      for (const [i, sys] of systems.entries()) {
        const run = runs[i]!;
        await withSystem(sys, chains, join(work, sys.name, 'latency'), portOf(i), run, progress, o.log, latency(run, equalLoad, true));
        await withSystem(sys, idleSet, join(work, sys.name, 'idle'), portOf(i), run, progress, o.log, idleOf(run));
      }
    }
    return {
      plan,
      chains: chains.map((c) => c.name),
      skippedChains: skipped,
      systems: systems.map((s) => s.name),
      equalLoad,
      runs,
      idleChains: idleSet.map((c) => c.name),
    };
  } finally {
    process.off('exit', removeWork);
    removeWork();
  }
}
