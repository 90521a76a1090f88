/**
 * What the control loop reads about a chain's stages and latency, computed
 * from the stats every node streams (StreamStats): the samples of the last
 * two minutes are kept per node, and rates, in-flight counts and latency
 * quantiles are differences between the newest sample and the one a window
 * earlier (every counter and histogram in a sample is cumulative).
 */
import type { GatewayStats, HistogramMsg, InstanceStats, NodeStats } from '../../ferryd/proto.js';
import { Histogram } from '../../metrics/histogram.js';

/** A stage's instances, as the control loop (autoscaler, status) sees them. */
export interface StageSignals {
  chainId: number;
  stage: number;
  nowMs: number;
  instances: InstanceSignals[];
  /** The chain's latency at its gateways (dispatch to reply), when known. */
  chainLatencyMs?: LatencySummary;
}

export interface InstanceSignals {
  id: number;
  node: string;
  ready: boolean;
  inFlight: number;
  arrivalsPerSec: number;
  completionsPerSec: number;
  serviceMs: LatencySummary & { mean: number };
  /** CPU time it used per second of the window (a quota is spent on CPU;
   * service time on a shared node is mostly waiting for one). */
  cpuMsPerSec: number;
}

export interface LatencySummary {
  p50: number;
  p99: number;
}

export interface ChainTraffic {
  requestsPerSec: number;
  latencyMs: LatencySummary & { mean: number };
  /** Answers in the window by "status code" ("200", "504 timeout"). */
  responses: Record<string, number>;
  /** Requests the gateways hold now for a stage scaled to zero, and the
   * rate requests came to be held over the window. */
  held: number;
  heldPerSec: number;
  /** Arrival to reply of the requests that were held (count 0: none). */
  coldStartMs: LatencySummary & { count: number };
}

/** Placed instance of a chain (what the chain record says runs where). */
export interface PlacedRef {
  id: number;
  node: string;
  stage: number;
}

const KEEP_MS = 120_000;
/** /proc's clock ticks (USER_HZ, 100 on Linux). */
const TICK_MS = 10;
export const DEFAULT_WINDOW_MS = 10_000;

interface Sample {
  timeMs: number;
  stats: NodeStats;
}

/** Cumulative histogram (now) minus the one at the start of the window.
 * null: the node did not send it (a message field left out arrives null). */
function windowHistogram(now: HistogramMsg | null | undefined, then: HistogramMsg | null | undefined): Histogram {
  const h = new Histogram();
  if (now) h.merge(now, now.sumUs);
  if (!then) return h;
  then.buckets.forEach((b, k) => {
    const n = then.counts[k] ?? 0;
    if (b >= 0 && b < h.counts.length && n > 0) {
      h.counts[b] = Math.max(0, h.counts[b]! - n);
      h.total = Math.max(0, h.total - n);
    }
  });
  h.sum = Math.max(0, h.sum - then.sumUs);
  return h;
}

const ms = (us: number) => Math.round(us) / 1000;

function summary(h: Histogram): LatencySummary & { mean: number } {
  return { p50: ms(h.quantile(0.5)), p99: ms(h.quantile(0.99)), mean: ms(h.mean()) };
}

export class Signals {
  private readonly samples = new Map<string, Sample[]>();

  /** A node's new stats sample (the registry calls this as they stream). */
  observe(node: string, stats: NodeStats): void {
    let ring = this.samples.get(node);
    if (!ring) this.samples.set(node, (ring = []));
    ring.push({ timeMs: stats.timeMs, stats });
    while (ring.length > 2 && ring[0]!.timeMs < stats.timeMs - KEEP_MS) ring.shift();
  }

  forget(node: string): void {
    this.samples.delete(node);
  }

  /**
   * The newest sample of a node, and the newest one at least windowMs older
   * (the window runs between them). When the node has streamed for less
   * than that, there is no older sample: everything counted so far falls in
   * the window (true of a ferryd and control plane that started within it;
   * right after a control plane restart rates read high for one window).
   */
  private window(node: string, windowMs: number): { now: Sample; then?: Sample; secs: number } | undefined {
    const ring = this.samples.get(node);
    const now = ring?.at(-1);
    if (!ring || !now) return undefined;
    let then: Sample | undefined;
    for (const s of ring) if (s.timeMs <= now.timeMs - windowMs) then = s;
    return { now, then, secs: then ? (now.timeMs - then.timeMs) / 1000 : windowMs / 1000 };
  }

  /** One instance over the last windowMs: its samples and service times. */
  private instanceWindow(p: PlacedRef, windowMs: number) {
    const w = this.window(p.node, windowMs);
    const now = w?.now.stats.instances.find((i) => i.instanceId === p.id);
    const then = w?.then?.stats.instances.find((i) => i.instanceId === p.id);
    return { nowMs: w?.now.timeMs ?? 0, now, then, secs: w?.secs ?? 0, service: windowHistogram(now?.serviceTime, then?.serviceTime) };
  }

  /** One stage's instances over the last windowMs. */
  stage(chainId: number, stage: number, placed: PlacedRef[], windowMs = DEFAULT_WINDOW_MS): StageSignals {
    let nowMs = 0;
    const instances = placed
      .filter((p) => p.stage === stage)
      .map((p): InstanceSignals => {
        const { nowMs: t, now, then, secs, service } = this.instanceWindow(p, windowMs);
        nowMs = Math.max(nowMs, t);
        const rate = (f: (i: InstanceStats) => number) => (now && secs > 0 ? Math.max(0, f(now) - (then ? f(then) : 0)) / secs : 0);
        return {
          id: p.id,
          node: p.node,
          ready: now?.state === 'RUNNING' && now.ready,
          inFlight: now?.inFlight ?? 0,
          arrivalsPerSec: rate((i) => i.rxMsgs),
          completionsPerSec: rate((i) => i.completions),
          serviceMs: summary(service),
          // Ticks of the same process only: a restart starts them over.
          cpuMsPerSec: now && then && now.pid === then.pid ? rate((i) => i.cpuTicks) * TICK_MS : 0,
        };
      });
    const chain = this.chain(chainId, windowMs);
    return { chainId, stage, nowMs, instances, chainLatencyMs: chain && { p50: chain.latencyMs.p50, p99: chain.latencyMs.p99 } };
  }

  /** A stage's service times over the last windowMs, all its instances together. */
  stageService(stage: number, placed: PlacedRef[], windowMs = DEFAULT_WINDOW_MS): LatencySummary & { mean: number } {
    const all = new Histogram();
    for (const p of placed) if (p.stage === stage) all.merge(this.instanceWindow(p, windowMs).service);
    return summary(all);
  }

  /** The chain's traffic at every gateway that serves it, over windowMs. */
  chain(chainId: number, windowMs = DEFAULT_WINDOW_MS): ChainTraffic | undefined {
    const latency = new Histogram();
    const coldStart = new Histogram();
    const responses: Record<string, number> = {};
    let requests = 0;
    let held = 0;
    let heldInWindow = 0;
    let secs = 0;
    let seen = false;
    for (const node of this.samples.keys()) {
      const w = this.window(node, windowMs);
      const now = w?.now.stats.gateways.find((g) => g.chainId === chainId);
      if (!w || !now) continue;
      seen = true;
      const then: GatewayStats | undefined = w.then?.stats.gateways.find((g) => g.chainId === chainId);
      latency.merge(windowHistogram(now.latency, then?.latency));
      coldStart.merge(windowHistogram(now.coldStart, then?.coldStart));
      held += now.held;
      heldInWindow += Math.max(0, now.heldTotal - (then?.heldTotal ?? 0));
      for (const [key, n] of Object.entries(now.responses)) {
        const d = Math.max(0, n - (then?.responses[key] ?? 0));
        if (d > 0) responses[key] = (responses[key] ?? 0) + d;
        requests += d;
      }
      secs = Math.max(secs, w.secs);
    }
    if (!seen) return undefined;
    const cold = summary(coldStart);
    return {
      requestsPerSec: secs > 0 ? requests / secs : 0,
      latencyMs: summary(latency),
      responses,
      held,
      heldPerSec: secs > 0 ? heldInWindow / secs : 0,
      coldStartMs: { p50: cold.p50, p99: cold.p99, count: coldStart.total },
    };
  }
}
