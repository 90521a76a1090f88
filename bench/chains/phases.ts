/**
 * The measurements on one running system. Two passes per system, because
 * the fixed-rate runs need every system's max first (equal offered load:
 * half the slowest system's max on each chain):
 *  - capacity: the max search per chain (closed loop, connections
 *    doubling, stop at the first level that misses the SLO), then requests
 *    per CPU-second at each body size (closed loop, CPU of every process);
 *  - latency: the paced fixed-rate run per chain and the payload sweep;
 *  - idle: CPU with ten chains deployed and settled, nothing sent.
 */
import { closedLoop } from './load/closed.js';
import { openLoop } from './load/open.js';
import { withCpu } from './measure/cpu.js';
import { paddedSample, type ChainFacts } from './bodies.js';
import type { SuitePlan } from './plan.js';
import type { Progress } from './progress.js';
import type { ChainMax, FixedRun, IdleRun, MaxLevel, PerCpuRun, SweepRun } from './results.js';
import type { RunningSystem } from './system.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A closed-loop run whose numbers are thrown away: a freshly started
 * system's first requests pay for JIT compilation, lazy connections and
 * cold caches, which would otherwise land in the first measured level. */
export async function warmUp(sys: RunningSystem, facts: ChainFacts, plan: SuitePlan, progress: Progress): Promise<void> {
  progress.step(`${sys.name} ${facts.name} warm-up: 4 connections for ${plan.warmupS} s (not recorded)`, plan.warmupS);
  await closedLoop({ url: sys.url(facts.name), bodies: facts.samples, connections: 4, durationS: plan.warmupS });
}

export async function maxSearch(sys: RunningSystem, facts: ChainFacts, plan: SuitePlan, progress: Progress): Promise<ChainMax> {
  await warmUp(sys, facts, plan, progress);
  const levels: MaxLevel[] = [];
  for (const connections of plan.maxConnections) {
    progress.step(`${sys.name} ${facts.name} max: ${connections} connection(s) for ${plan.maxLevelS} s`, plan.maxLevelS);
    const r = await closedLoop({ url: sys.url(facts.name), bodies: facts.samples, connections, durationS: plan.maxLevelS });
    const meetsSlo = r.failed === 0 && r.ok > 0 && r.latency.p99Ms <= facts.sloP99Ms;
    levels.push({ ...r, meetsSlo });
    // More connections only queue more once the SLO is missed.
    if (!meetsSlo) break;
  }
  const best = levels.filter((l) => l.meetsSlo).sort((a, b) => b.rps - a.rps)[0];
  return { chain: facts.name, sloP99Ms: facts.sloP99Ms, levels, maxRps: best?.rps ?? 0, atConnections: best?.connections ?? null };
}

export async function perCpu(sys: RunningSystem, facts: ChainFacts, nominalBytes: number, plan: SuitePlan, progress: Progress): Promise<PerCpuRun> {
  const padded = paddedSample(facts, nominalBytes);
  progress.step(`${sys.name} ${facts.name} requests per CPU-second at ${padded.bytes} B, ${plan.perCpuConnections} connections for ${plan.perCpuS} s`, plan.perCpuS);
  const { result: r, cpu } = await withCpu(
    () => sys.pids(),
    () => closedLoop({ url: sys.url(facts.name), bodies: [padded.body], connections: plan.perCpuConnections, durationS: plan.perCpuS }),
  );
  return {
    chain: facts.name,
    nominalBytes,
    bytes: padded.bytes,
    ...(padded.note ? { note: padded.note } : {}),
    connections: plan.perCpuConnections,
    durationS: plan.perCpuS,
    ok: r.ok,
    failed: r.failed,
    rps: r.rps,
    cpuSeconds: cpu.cpuSeconds,
    processes: cpu.processes,
    reqPerCpuSecond: cpu.cpuSeconds > 0 ? Math.round(r.ok / cpu.cpuSeconds) : 0,
  };
}

export async function idle(sys: RunningSystem, chains: readonly string[], plan: SuitePlan, progress: Progress): Promise<IdleRun> {
  progress.step(`${sys.name} idle: ${chains.length} chains deployed, settling ${plan.idleSettleS} s, then ${plan.idleS} s of CPU`, plan.idleSettleS + plan.idleS);
  await sleep(plan.idleSettleS * 1000);
  const { cpu } = await withCpu(() => sys.pids(), () => sleep(plan.idleS * 1000));
  return {
    chains: [...chains],
    settleS: plan.idleSettleS,
    seconds: Math.round(cpu.wallSeconds * 10) / 10,
    cpuSeconds: cpu.cpuSeconds,
    processes: cpu.processes,
    percentOfCore: Math.round((cpu.cpuSeconds / cpu.wallSeconds) * 100 * 1000) / 1000,
  };
}

export async function fixedRate(sys: RunningSystem, facts: ChainFacts, rate: number, plan: SuitePlan, progress: Progress): Promise<FixedRun> {
  progress.step(`${sys.name} ${facts.name} fixed rate: ${rate}/s paced for ${plan.fixedS} s`, plan.fixedS);
  const result = await openLoop({ url: sys.url(facts.name), bodies: facts.samples, rate, durationS: plan.fixedS });
  return { chain: facts.name, rate, result };
}

export async function sweep(sys: RunningSystem, facts: ChainFacts, rate: number, plan: SuitePlan, progress: Progress): Promise<SweepRun[]> {
  const out: SweepRun[] = [];
  for (const nominal of plan.sweepBytes) {
    const padded = paddedSample(facts, nominal);
    // Sizes over the chain's limit all become the limit: measure it once.
    if (out.some((r) => r.bytes === padded.bytes)) {
      progress.log(`${sys.name} ${facts.name} sweep: ${nominal} B would be sent as ${padded.bytes} B again (${padded.note}); skipped`);
      continue;
    }
    progress.step(`${sys.name} ${facts.name} sweep: ${padded.bytes} B at ${rate}/s for ${plan.sweepS} s`, plan.sweepS);
    const result = await openLoop({ url: sys.url(facts.name), bodies: [padded.body], rate, durationS: plan.sweepS });
    out.push({ chain: facts.name, nominalBytes: nominal, bytes: padded.bytes, ...(padded.note ? { note: padded.note } : {}), result });
  }
  return out;
}
