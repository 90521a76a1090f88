import { describe, expect, it } from 'vitest';
import type { SystemRun } from './results.js';
import { ratiosOf, summariseSystem, type SystemSummary } from './summary.js';
import { evaluateTargets } from './targets.js';
import type { SystemName } from './system.js';
import type { OpenResult } from './load/open.js';

const CHAINS = ['online-boutique', 'pipeline'];

function open(p99Ms: number, rate = 100): OpenResult {
  return { rate, durationS: 1, sent: rate, ok: rate, failed: 0, maxLagMs: 0, latency: { count: rate, p50Ms: p99Ms / 2, p99Ms, p999Ms: p99Ms * 1.2, maxMs: p99Ms * 1.5, cdf: [] } };
}

/** A system's raw runs with the given requests per CPU-second, fixed-rate p99, sweep p99s (64 B, 1 MiB) and idle %. */
function run(system: SystemName, perCpu: [number, number], p99: number, sweep: [number, number], idlePct: number): SystemRun {
  return {
    system,
    max: CHAINS.map((chain) => ({ chain, sloP99Ms: 50, levels: [], maxRps: 1000, atConnections: 8 })),
    perCpu: CHAINS.flatMap((chain) =>
      [1024, 65536].map((nominalBytes, i) => ({ chain, nominalBytes, bytes: nominalBytes, connections: 16, durationS: 1, ok: 1, failed: 0, rps: 1, cpuSeconds: 1, processes: 1, reqPerCpuSecond: perCpu[i]! })),
    ),
    fixed: CHAINS.map((chain) => ({ chain, rate: 100, result: open(p99) })),
    sweep: [
      { chain: 'pipeline', nominalBytes: 64, bytes: 120, result: open(sweep[0]) },
      { chain: 'pipeline', nominalBytes: 1048576, bytes: 1048576, result: open(sweep[1]) },
    ],
    idle: { chains: [], settleS: 1, seconds: 60, cpuSeconds: (idlePct / 100) * 60, processes: 5, percentOfCore: idlePct },
    errors: [],
  };
}

const summaries = (runs: SystemRun[]) => Object.fromEntries(runs.map((r) => [r.system, summariseSystem(r, CHAINS)])) as Partial<Record<SystemName, SystemSummary>>;
const byId = (ts: ReturnType<typeof evaluateTargets>, id: string) => ts.find((t) => t.id === id && t.system === 'ferry-ebpf')!;

describe('issue #10 targets', () => {
  it('are met when ferry clears every bar', () => {
    const s = summaries([
      run('ferry-ebpf', [6000, 1600], 2, [2, 2.5], 0.5),
      run('http', [1000, 1000], 4, [3, 30], 0.1),
      run('knative', [500, 500], 12, [12, 90], 0.3),
      run('grpc', [1100, 900], 3, [2.5, 20], 0.2),
    ]);
    const ts = evaluateTargets(s);
    for (const id of ['req-per-cpu-1kib-vs-http', 'req-per-cpu-64kib-vs-http', 'req-per-cpu-1kib-vs-knative', 'p99-lower-than-every-baseline', 'p99-5x-lower-than-knative', 'p99-flat-with-payload', 'idle-below-1pct'])
      expect([id, byId(ts, id).met]).toEqual([id, true]);
    expect(byId(ts, 'req-per-cpu-1kib-vs-http').numbers['online-boutique.ratio']).toBe(6);
    expect(byId(ts, 'admin-getchain-2000-per-s').met).toBeNull();
  });

  it('fail on the one number that misses, and say which', () => {
    const s = summaries([
      run('ferry-ebpf', [4000, 1600], 2, [2, 4], 1.5), // 4x http at 1 KiB; p99 doubles with payload; idle 1.5%
      run('http', [1000, 1000], 4, [3, 30], 0.1),
      run('knative', [500, 500], 9, [12, 90], 0.3), // fixed p99 only 4.5x ferry's
      run('grpc', [1100, 900], 1.5, [2.5, 20], 0.2), // grpc's fixed p99 beats ferry's
    ]);
    const ts = evaluateTargets(s);
    expect(byId(ts, 'req-per-cpu-1kib-vs-http').met).toBe(false);
    expect(byId(ts, 'req-per-cpu-64kib-vs-http').met).toBe(true);
    expect(byId(ts, 'p99-lower-than-every-baseline').met).toBe(false);
    expect(byId(ts, 'p99-lower-than-every-baseline').numbers['fixed.pipeline.grpc']).toBe(1.5);
    expect(byId(ts, 'p99-5x-lower-than-knative').met).toBe(false);
    expect(byId(ts, 'p99-flat-with-payload').met).toBe(false);
    expect(byId(ts, 'idle-below-1pct').met).toBe(false);
  });

  it('are not judged (null, with a note) when a baseline did not run, and ratios cover the ferry modes', () => {
    const s = summaries([run('ferry-ebpf', [6000, 1600], 2, [2, 2.5], 0.5), run('ferry-fallback', [3000, 800], 3, [3, 4], 0.6)]);
    const ts = evaluateTargets(s);
    expect(byId(ts, 'req-per-cpu-1kib-vs-http').met).toBeNull();
    expect(byId(ts, 'req-per-cpu-1kib-vs-http').note).toContain('http not measured');
    expect(byId(ts, 'p99-lower-than-every-baseline').met).toBeNull();
    expect(byId(ts, 'idle-below-1pct').met).toBe(true);
    expect(ts.filter((t) => t.system === 'ferry-fallback').length).toBe(8);
    const r = ratiosOf(s, CHAINS).find((x) => x.ferry === 'ferry-ebpf' && x.other === 'ferry-fallback')!;
    expect(r.chains['pipeline']).toEqual({ maxRps: 1, reqPerCpuSecond1KiB: 2, reqPerCpuSecond64KiB: 2, p99LowerX: 1.5 });
    expect(r.sweepP99LowerX).toEqual({ '64': 1.5, '1048576': 1.6 });
  });
});
