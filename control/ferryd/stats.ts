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
import type { InstanceStats, InstanceStatus, NodeStats, PoolStats, StageBalance } from './proto.js';

export interface StatsSources {
  name: string;
  instances: () => InstanceStatus[];
  dataPlane: Pick<NodeDataPlane, 'counters' | 'poolChains' | 'occupancy'>;
  /** Buffers freed past their deadline, per chain. */
  expired?: (chainId: number) => number;
  /** Every stage's balance policy and the weights it wrote. */
  balance?: () => StageBalance[];
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
      pools: this.src.dataPlane.poolChains().sort((a, b) => a - b).map((c) => this.pool(c)),
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
