/**
 * This node's load as a balancer elsewhere should see it: CPU and memory in
 * use against what this node may use, and loadavg per CPU. A ferryd in a
 * container (a DaemonSet with limits, or a cgroup an operator put it in)
 * may use only what its cgroup allows: then its CPU quota and memory limit
 * are the node, and their share in use is its load (the machine's /proc
 * would call a throttled node idle, or a node sharing the machine with
 * others busy). Without limits, the machine's /proc is the node. Nodes
 * that share a machine (network namespaces) differ only by their cgroups.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import type { NodeLoad } from '../../node/peer/load-report.js';
import { parseMountinfo, parseProcCgroup } from '../../node/sandbox/cgroups/tree.js';
import { cpuBusy, cpuSample, memoryInfo, type CpuSample } from '../procfs.js';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Where this process's CPU limit is enforced, and how to read its usage. */
interface CpuLimit {
  /** CPUs the quota allows (quota / period). */
  cpus: number;
  /** CPU time used by the limited cgroup so far, in ms. */
  usageMs: () => number | undefined;
}

interface MemLimit {
  limitBytes: number;
  usageBytes: () => number | undefined;
}

/** The nearest ancestor-or-self of dir (inside root) for which found() says yes. */
function upFrom<T>(root: string, dir: string, found: (d: string) => T | undefined): T | undefined {
  for (let d = dir; d.startsWith(root); d = dirname(d)) {
    const v = found(d);
    if (v !== undefined) return v;
    if (d === root) break;
  }
  return undefined;
}

export interface CgroupView {
  mountinfo?: string;
  procCgroup?: string;
}

/** The CPU quota and memory limit this process lives under, if any. */
export function cgroupLimits(view: CgroupView = {}): { cpu?: CpuLimit; mem?: MemLimit } {
  const mounts = parseMountinfo(view.mountinfo ?? read('/proc/self/mountinfo') ?? '');
  const own = parseProcCgroup(view.procCgroup ?? read('/proc/self/cgroup') ?? '');
  const out: { cpu?: CpuLimit; mem?: MemLimit } = {};
  const v1 = (ctrl: string) => {
    const m = mounts.find((x) => x.fstype === 'cgroup' && x.superOptions.includes(ctrl));
    return m ? { root: m.mountpoint, dir: join(m.mountpoint, own.v1.get(ctrl) ?? '/') } : undefined;
  };
  const unified = mounts.find((m) => m.fstype === 'cgroup2');
  const cpuV1 = v1('cpu');
  const acctV1 = v1('cpuacct');
  if (cpuV1 && acctV1) {
    out.cpu = upFrom(cpuV1.root, cpuV1.dir, (d) => {
      const quota = Number(read(join(d, 'cpu.cfs_quota_us')));
      const period = Number(read(join(d, 'cpu.cfs_period_us')));
      if (!(quota > 0 && period > 0)) return undefined;
      // Usage of the limited cgroup where cpuacct shares the hierarchy
      // (cpu,cpuacct); else of this process's own cpuacct cgroup.
      const acct = acctV1.root === cpuV1.root ? join(d, 'cpuacct.usage') : join(acctV1.dir, 'cpuacct.usage');
      return { cpus: quota / period, usageMs: () => Number(read(acct)) / 1e6 || undefined };
    });
  } else if (unified && own.v2 !== undefined) {
    out.cpu = upFrom(unified.mountpoint, join(unified.mountpoint, own.v2), (d) => {
      const [quota, period] = (read(join(d, 'cpu.max')) ?? 'max').trim().split(' ');
      if (quota === 'max' || !(Number(quota) > 0 && Number(period) > 0)) return undefined;
      const stat = join(d, 'cpu.stat');
      return { cpus: Number(quota) / Number(period), usageMs: () => Number(/^usage_usec (\d+)/m.exec(read(stat) ?? '')?.[1]) / 1000 || undefined };
    });
  }
  const memV1 = v1('memory');
  if (memV1) {
    out.mem = upFrom(memV1.root, memV1.dir, (d) => {
      const limit = Number(read(join(d, 'memory.limit_in_bytes')));
      // No limit reads as a huge number (PAGE_COUNTER_MAX pages).
      if (!(limit > 0 && limit < 2 ** 60)) return undefined;
      return { limitBytes: limit, usageBytes: () => Number(read(join(d, 'memory.usage_in_bytes'))) || undefined };
    });
  } else if (unified && own.v2 !== undefined) {
    out.mem = upFrom(unified.mountpoint, join(unified.mountpoint, own.v2), (d) => {
      const max = (read(join(d, 'memory.max')) ?? 'max').trim();
      if (max === 'max' || !existsSync(join(d, 'memory.current'))) return undefined;
      return { limitBytes: Number(max), usageBytes: () => Number(read(join(d, 'memory.current'))) || undefined };
    });
  }
  return out;
}

export class NodeLoadMeter {
  private cpu: CpuSample = cpuSample();
  private at = Date.now();
  private cgroupUsageMs: number | undefined;
  private readonly limits: ReturnType<typeof cgroupLimits>;

  constructor(view?: CgroupView) {
    this.limits = cgroupLimits(view);
    this.cgroupUsageMs = this.limits.cpu?.usageMs();
  }

  /** CPUs this node may use. */
  get cpus(): number {
    return Math.max(0.01, Math.min(availableParallelism(), this.limits.cpu?.cpus ?? Infinity));
  }

  /** The load since the previous sample. */
  sample(): NodeLoad {
    const now = Date.now();
    const cpu = cpuSample();
    let busy = cpuBusy(this.cpu, cpu);
    this.cpu = cpu;
    const usage = this.limits.cpu?.usageMs();
    if (this.limits.cpu && usage !== undefined && this.cgroupUsageMs !== undefined && now > this.at)
      busy = Math.min(1, (usage - this.cgroupUsageMs) / (now - this.at) / this.limits.cpu.cpus);
    this.cgroupUsageMs = usage;
    this.at = now;
    const m = memoryInfo();
    let mem = m.totalBytes > 0 ? 1 - m.availableBytes / m.totalBytes : 0;
    const used = this.limits.mem?.usageBytes();
    if (this.limits.mem && used !== undefined) mem = Math.min(1, used / this.limits.mem.limitBytes);
    return { cpu: busy, mem: Math.min(1, Math.max(0, mem)), load1: loadavg()[0]! / this.cpus };
  }
}
