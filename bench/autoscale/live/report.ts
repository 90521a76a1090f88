/**
 * What a live run reports: per policy and runtime, the measures
 * (cold start from zero, reaction to the step and the burst, SLO-violation
 * seconds, latency, failed requests, instance-seconds), the targets, and
 * slo vs kpa ratios. Pure functions of what the phases recorded.
 */
import type { AdminEvent } from '../../../control/controlplane/admin/proto.js';
import { percentile } from '../../lib/paced-load.js';
import type { Runtime } from './chains.js';
import type { ColdStartSample, LoadRun } from './phases.js';

const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export interface Reaction {
  /** Phase start to the first autoscale-decision asking for more instances. */
  decisionMs: number | null;
  /** Phase start to the first `scaled` event adding instances: those are
   * ready and routed when it is emitted (ChainManager.scale). */
  readyMs: number | null;
  /** The change that event made ("1 -> 3"). */
  change: string | null;
}

export interface RunResult {
  policy: string;
  runtime: Runtime;
  chain: string;
  /** Over the samples that were starts from zero (n of them); notFromZero: the others. */
  coldStartMs: { p50: number; max: number; n: number; gatewayP50: number; gatewayP99: number; failed: number; notFromZero: number; samples: number[] };
  stepReactionMs: Reaction;
  burstReactionMs: Reaction;
  sloViolationSeconds: number;
  /** Seconds of load (by request due time). */
  loadSeconds: number;
  p50Ms: number;
  p99Ms: number;
  /** p99 of each phase, where the reaction shows. */
  phaseP99Ms: Record<string, number>;
  requests: number;
  failedRequests: number;
  /** Non-200 answers by status (0: no answer within the client's timeout). */
  failedByStatus: Record<string, number>;
  errors: string[];
  instanceSeconds: number;
  readyInstanceSeconds: number;
  maxInstances: number;
  maxLagMs: number;
  /** Every autoscale-decision and scaled event of the run, ms after the load started (negative: during the cold starts). */
  events: { atMs: number; kind: string; message: string }[];
  /** The once-a-second GetChain samples. */
  instances: { atMs: number; asked: number; ready: number; held: number }[];
}

const change = (e: AdminEvent): [number, number] | undefined => {
  const m = e.kind === 'scaled' ? /scaled (\d+) -> (\d+)/.exec(e.message) : e.kind === 'autoscale-decision' ? /: (\d+) -> (\d+):/.exec(e.message) : null;
  return m ? [Number(m[1]), Number(m[2])] : undefined;
};
const up = (e: AdminEvent) => {
  const c = change(e);
  return c !== undefined && c[1] > c[0];
};

function reaction(events: readonly AdminEvent[], fromEpochMs: number): Reaction {
  const after = events.filter((e) => e.timeMs >= fromEpochMs && up(e));
  const decision = after.find((e) => e.kind === 'autoscale-decision');
  const scaled = after.find((e) => e.kind === 'scaled');
  return {
    decisionMs: decision ? decision.timeMs - fromEpochMs : null,
    readyMs: scaled ? scaled.timeMs - fromEpochMs : null,
    change: scaled ? (change(scaled) ?? []).join(' -> ') : null,
  };
}

/** Integral of a step function sampled at (atMs, value), over [0, endMs]. */
function integral(samples: readonly { atMs: number; v: number }[], endMs: number): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const until = Math.min(endMs, samples[i + 1]?.atMs ?? endMs);
    if (until > s.atMs) sum += s.v * (until - Math.max(0, s.atMs));
  }
  return sum / 1000;
}

export function summarize(policy: string, runtime: Runtime, chain: string, sloMs: number, cold: ColdStartSample[], load: LoadRun, allEvents: readonly AdminEvent[], coldFromEpochMs: number): RunResult {
  const events = allEvents.filter((e) => e.chain === chain && e.timeMs >= coldFromEpochMs && e.timeMs <= load.endEpochMs);
  const phaseStart = (name: string) => {
    let at = 0;
    for (const p of load.phases) {
      if (p.name === name) return at;
      at += p.durationMs;
    }
    return at;
  };
  const loadMs = load.phases.reduce((a, p) => a + p.durationMs, 0);
  // A failed request counts as infinitely late in its second: a fast 503
  // must not make a second look good.
  const ok = (i: number) => load.statuses[i] === 200;
  const bySecond = new Map<number, number[]>();
  load.dueMs.forEach((due, i) => {
    const s = Math.floor(due / 1000);
    const list = bySecond.get(s) ?? [];
    list.push(ok(i) ? load.latenciesMs[i]! : Infinity);
    bySecond.set(s, list);
  });
  const violations = [...bySecond.values()].filter((l) => {
    const sorted = [...l].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)]! > sloMs;
  }).length;
  const phaseP99Ms: Record<string, number> = {};
  for (const p of load.phases) {
    const from = phaseStart(p.name);
    const lat = load.latenciesMs.filter((_, i) => load.dueMs[i]! >= from && load.dueMs[i]! < from + p.durationMs);
    phaseP99Ms[p.name] = r1(percentile(lat, 0.99));
  }
  const failedByStatus: Record<string, number> = {};
  load.statuses.forEach((s, i) => {
    if (!ok(i)) failedByStatus[String(s ?? 0)] = (failedByStatus[String(s ?? 0)] ?? 0) + 1;
  });
  for (let i = load.statuses.length; i < load.dueMs.length; i++) failedByStatus['0'] = (failedByStatus['0'] ?? 0) + 1;
  const samples = load.samples.filter((s) => s.atMs <= loadMs);
  const coldMs = cold.filter((c) => c.status === 200 && c.fromZero).map((c) => c.clientMs);
  const gw = cold.map((c) => c.gatewayP50Ms).filter((x) => x > 0);
  return {
    policy,
    runtime,
    chain,
    coldStartMs: {
      p50: r1(percentile(coldMs, 0.5)),
      max: r1(Math.max(...coldMs)),
      n: coldMs.length,
      // The gateway reports p50/p99 over its last 10 s: one reading after each start, their median (and the largest p99).
      gatewayP50: r1(percentile(gw, 0.5)),
      gatewayP99: r1(Math.max(0, ...cold.map((c) => c.gatewayP99Ms))),
      failed: cold.filter((c) => c.status !== 200).length,
      notFromZero: cold.filter((c) => c.status === 200 && !c.fromZero).length,
      samples: coldMs.map(r1),
    },
    stepReactionMs: reaction(events, load.startEpochMs + phaseStart('step')),
    burstReactionMs: reaction(events, load.startEpochMs + phaseStart('burst')),
    sloViolationSeconds: violations,
    loadSeconds: bySecond.size,
    p50Ms: r1(percentile(load.latenciesMs, 0.5)),
    p99Ms: r1(percentile(load.latenciesMs, 0.99)),
    phaseP99Ms,
    requests: load.dueMs.length,
    failedRequests: Object.values(failedByStatus).reduce((a, b) => a + b, 0),
    failedByStatus,
    errors: load.errors.slice(0, 5),
    instanceSeconds: r1(integral(samples.map((s) => ({ atMs: s.atMs, v: s.asked })), loadMs)),
    readyInstanceSeconds: r1(integral(samples.map((s) => ({ atMs: s.atMs, v: s.ready })), loadMs)),
    maxInstances: Math.max(0, ...samples.map((s) => s.asked)),
    maxLagMs: r1(load.maxLagMs),
    events: events.filter((e) => e.kind === 'scaled' || e.kind === 'autoscale-decision' || e.kind === 'autoscale-failed').map((e) => ({ atMs: e.timeMs - load.startEpochMs, kind: e.kind, message: e.message })),
    instances: samples,
  };
}

export interface Target {
  name: string;
  met: boolean;
  value: number;
  limit: string;
}

/** The targets, over every run of this invocation. */
export function targets(runs: readonly RunResult[]): Target[] {
  const out: Target[] = runs.map((r) => ({ name: `failedRequests ${r.policy}/${r.runtime}`, met: r.failedRequests + r.coldStartMs.failed === 0, value: r.failedRequests + r.coldStartMs.failed, limit: '== 0' }));
  const cold = (rt: Runtime) => percentile(runs.filter((r) => r.runtime === rt).flatMap((r) => r.coldStartMs.samples), 0.5);
  for (const [rt, limit] of [['node', 300], ['native', 50]] as const) {
    const v = cold(rt);
    if (Number.isFinite(v)) out.push({ name: `coldStart p50 ${rt} (all policies' samples)`, met: v < limit, value: r1(v), limit: `< ${limit} ms` });
  }
  return out;
}

/** slo / kpa for each runtime: below 1 is slo better (fewer, less). */
export function ratios(runs: readonly RunResult[]): Record<string, { sloViolationSeconds: number | null; instanceSeconds: number | null; p99Ms: number | null }> {
  const out: ReturnType<typeof ratios> = {};
  const q = (a: number, b: number) => (b > 0 ? r3(a / b) : null);
  for (const rt of new Set(runs.map((r) => r.runtime))) {
    const kpa = runs.find((r) => r.runtime === rt && r.policy === 'kpa');
    const slo = runs.find((r) => r.runtime === rt && r.policy === 'slo');
    if (!kpa || !slo) continue;
    out[`slo/kpa ${rt}`] = { sloViolationSeconds: q(slo.sloViolationSeconds, kpa.sloViolationSeconds), instanceSeconds: q(slo.instanceSeconds, kpa.instanceSeconds), p99Ms: q(slo.p99Ms, kpa.p99Ms) };
  }
  return out;
}

/** One stderr line per run. */
export function oneLine(r: RunResult): string {
  const re = (x: Reaction) => `${x.decisionMs ?? '-'}/${x.readyMs ?? '-'} ms`;
  return `${r.policy}/${r.runtime}: cold p50 ${r.coldStartMs.p50} max ${r.coldStartMs.max} ms (gateway ${r.coldStartMs.gatewayP50}); step ${re(r.stepReactionMs)}, burst ${re(r.burstReactionMs)} (decision/ready); ` +
    `${r.sloViolationSeconds}/${r.loadSeconds} violation s, p50 ${r.p50Ms} p99 ${r.p99Ms} ms, ${r.failedRequests}/${r.requests} failed, ${r.instanceSeconds} instance-s, max ${r.maxInstances}`;
}
