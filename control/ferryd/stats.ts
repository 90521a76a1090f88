/**
 * StreamStats samples: per-instance router counters (eBPF maps or the
 * relay's tallies), each instance's CPU and memory from /proc, each pool's
 * occupancy, and the node's load. One sampler per stream, because cpu_busy
 * is the busy share since that stream's previous sample.
 */
import { loadavg } from 'node:os';
import type { RouterCounters } from '../dataplane/native.js';
import type { NodeDataPlane } from '../node/dataplane.js';
import { emptyCounters } from '../node/router/router.js';
import { cpuBusy, cpuSample, memoryInfo, processUsage, type CpuSample } from './procfs.js';
import type { ServedChain } from '../gateway/directory.js';
import type { Histogram } from '../metrics/histogram.js';
import type { HistogramMsg, InstanceStats, JobStats, InstanceStatus, NodeStats, PoolStats, StageBalance } from './proto.js';
import type { InstanceService } from './signals.js';

export interface StatsSources {
  name: string;
  instances: () => InstanceStatus[];
  dataPlane: Pick<NodeDataPlane, 'counters' | 'poolChains' | 'occupancy'>;
  /** Buffers freed past their deadline, per chain. */
  expired?: (chainId: number) => number;
  /** What instances reported of their requests. */
  service?: (instanceId: number) => InstanceService | undefined;
  /** What the gateway saw of the chains it serves. */
  gateways?: () => ServedChain[];
  /** Every stage's balance policy and the weights it wrote. */
  balance?: () => StageBalance[];
  /** What this node's job coordinators saw. */
  jobs?: () => JobStats[];
}

/** A cumulative histogram as StreamStats carries it. */
export function histogramMsg(h: Histogram | undefined): HistogramMsg {
  if (!h) return { buckets: [], counts: [], sumUs: 0 };
  const { buckets, counts } = h.sparse();
  return { buckets, counts, sumUs: Math.round(h.sum) };
}

/** Counters of an endpoint; zeros when the router has none (an instance
 * between a crash and its restart). */
export function countersOf(dp: Pick<NodeDataPlane, 'counters'>, instanceId: number): RouterCounters {
  try {
    return dp.counters(instanceId);
  } catch {
    return emptyCounters();
  }
}

/** Requests the instance has received and not yet passed on (or failed):
 * counters restart with each incarnation, so this is this incarnation's. */
export function inFlight(c: RouterCounters): number {
  const sent = c.txMsgs + Object.values(c.drops).reduce((a, b) => a + b, 0);
  return Math.max(0, c.rxMsgs - sent);
}

export class StatsSampler {
  private cpu: CpuSample = cpuSample();

  constructor(private readonly src: StatsSources) {}

  sample(): NodeStats {
    const cpu = cpuSample();
    const busy = cpuBusy(this.cpu, cpu);
    this.cpu = cpu;
    const mem = memoryInfo();
    return {
      node: this.src.name,
      timeMs: Date.now(),
      loadavg: loadavg(),
      cpuBusy: busy,
      memoryTotalBytes: mem.totalBytes,
      memoryAvailableBytes: mem.availableBytes,
      instances: this.src.instances().map((s) => this.instance(s)),
      jobs: this.src.jobs?.() ?? [],
      pools: this.src.dataPlane.poolChains().sort((a, b) => a - b).map((c) => this.pool(c)),
      gateways: (this.src.gateways?.() ?? []).map((g) => ({
        chainId: g.chainId,
        chain: g.name,
        tenant: g.tenant,
        responses: Object.fromEntries(g.meter?.responses ?? []),
        latency: histogramMsg(g.meter?.latency),
        held: g.hold?.held ?? 0,
        heldTotal: g.hold?.total ?? 0,
        coldStart: histogramMsg(g.meter?.coldStart),
        inFlight: g.injector.inFlight,
      })),
      balance: this.src.balance?.() ?? [],
    };
  }

  private instance(s: InstanceStatus): InstanceStats {
    const c = countersOf(this.src.dataPlane, s.instanceId);
    const usage = processUsage(s.pid);
    return {
      instanceId: s.instanceId,
      chainId: s.chainId,
      stage: s.stage,
      rxMsgs: c.rxMsgs,
      rxBytes: c.rxBytes,
      txMsgs: c.txMsgs,
      txBytes: c.txBytes,
      drops: { ...c.drops },
      pid: s.pid,
      cpuTicks: usage.cpuTicks,
      rssBytes: usage.rssBytes,
      state: s.state,
      completions: this.src.service?.(s.instanceId)?.completions ?? 0,
      serviceTime: histogramMsg(this.src.service?.(s.instanceId)?.service),
      inFlight: inFlight(c),
      ready: s.ready,
    };
  }

  private pool(chainId: number): PoolStats {
    const occ = this.src.dataPlane.occupancy(chainId);
    return {
      chainId,
      inUse: occ.classes.reduce((n, c) => n + c.inUse, 0),
      buffers: occ.classes.reduce((n, c) => n + c.capacity, 0),
      allocFailures: occ.allocFailures,
      classes: occ.classes,
      quotaBytes: occ.quotaBytes,
      capacityBytes: occ.capacityBytes,
      inUseBytes: occ.inUseBytes,
      tenant: occ.tenant,
      expired: this.src.expired?.(chainId) ?? 0,
    };
  }
}
