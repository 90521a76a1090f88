/**
 * Chains and observations for the policies' unit tests: stand-in signals of
 * the StageSignals shape, so a test states exactly what a policy sees.
 */
import type { ChainIR, StageIR } from '../../../chain/ir.js';
import type { ChainObservation, StageObservation } from '../policy.js';

export interface StageDef {
  name: string;
  runtime?: StageIR['runtime'];
  next?: string[];
  min?: number;
  max?: number;
  cpuMilli?: number;
}

/** A compiled chain of these stages (the first is the entry). */
export function testChain(stages: StageDef[], sloMs?: number): ChainIR {
  const ids = new Map(stages.map((s, i) => [s.name, i]));
  return {
    name: 'test',
    tenant: 'default',
    entry: 0,
    ...(sloMs !== undefined ? { slo: { p99Ms: sloMs } } : {}),
    maxBodyBytes: 1 << 20,
    timeoutMs: 10_000,
    bodyTimeoutMs: 10_000,
    poolBytes: 64 << 20,
    source: { file: 'test.yaml' },
    stages: stages.map((s, id) => ({
      id,
      name: s.name,
      runtime: s.runtime ?? 'node',
      handler: `/x/${s.name}.ts`,
      archs: ['amd64'],
      resources: { cpuMilli: s.cpuMilli ?? 1000, memoryMb: 64 },
      scale: { min: s.min ?? 1, max: s.max ?? 16 },
      next: (s.next ?? []).map((n) => ({ name: n, id: ids.get(n) ?? -1 })),
      data: {},
    })),
  };
}

export interface StageState {
  /** Instances asked for (default: ready). */
  current?: number;
  ready: number;
  /** Requests in flight on the stage, spread evenly over the ready instances. */
  inFlight?: number;
  /** Arrivals per second into the stage, spread likewise. */
  arrivals?: number;
  serviceMs?: { mean: number; p50: number; p99: number };
  /** CPU time per request (default: the mean service time). */
  cpuMs?: number;
  held?: { requests: number; arrivalsPerSec: number };
  capacity?: number;
}

export function stageObservation(stage: number, nowMs: number, s: StageState): StageObservation {
  const n = Math.max(s.ready, 0);
  const share = (x: number | undefined) => (n > 0 ? (x ?? 0) / n : 0);
  const service = s.serviceMs ?? { mean: 1, p50: 0.8, p99: 3 };
  const o: StageObservation = {
    current: s.current ?? s.ready,
    signals: {
      chainId: 1,
      stage,
      nowMs,
      instances: Array.from({ length: n }, (_, i) => ({
        id: 100 * (stage + 1) + i,
        node: 'n1',
        ready: true,
        inFlight: share(s.inFlight),
        arrivalsPerSec: share(s.arrivals),
        completionsPerSec: share(s.arrivals),
        serviceMs: service,
        cpuMsPerSec: share(s.arrivals) * (s.cpuMs ?? service.mean),
      })),
    },
  };
  if (s.held) o.held = s.held;
  if (s.capacity !== undefined) o.capacity = s.capacity;
  return o;
}

export function observation(nowMs: number, stages: StageState[]): ChainObservation {
  return { nowMs, stages: stages.map((s, i) => stageObservation(i, nowMs, s)) };
}
