/**
 * cgroup v1: the cpu, memory and pids controllers, each on its own
 * hierarchy (e.g. /sys/fs/cgroup/{cpu,memory,pids}). An instance gets a
 * directory in each; the launcher writes its pid into all three.
 *
 *   cpu:    cpu.cfs_period_us / cpu.cfs_quota_us (the limit), cpu.shares
 *           (its weight when the CPU is contended)
 *   memory: memory.limit_in_bytes, and memory.memsw.limit_in_bytes the same
 *           where swap is accounted, so swap cannot stretch the limit;
 *           memory.oom_control's "oom_kill" counts OOM kills
 *   pids:   pids.max
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../../log.js';
import { CPU_PERIOD_US, cpuQuotaUs, MiB, type Cgroups, type InstanceCgroup, type Limits } from '../cgroups.js';
import { cleanStale, emptyAndRemove, makeDir, readKeyed, writeKnob } from './tree.js';

export const V1_CONTROLLERS = ['cpu', 'memory', 'pids'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export interface V1Options {
  /** Where each controller's ferry tree goes: <mount>/<ferryd's cgroup>/ferry. */
  ferryRoots: Record<V1Controller, string>;
  /** This ferryd's directory name under each root. */
  dirName: string;
  log: Logger;
}

/** cpu.shares of ferryd's tree: 1024 per CPU. */
export const treeShares = () => 1024 * availableParallelism();

export class V1Cgroups implements Cgroups {
  readonly kind = 'cgroup-v1';
  readonly reason = '';
  private readonly dirs: Record<V1Controller, string>;
  private cleaning: Promise<unknown> = Promise.resolve();

  private constructor(private readonly opts: V1Options) {
    this.dirs = {
      cpu: join(opts.ferryRoots.cpu, opts.dirName),
      memory: join(opts.ferryRoots.memory, opts.dirName),
      pids: join(opts.ferryRoots.pids, opts.dirName),
    };
  }

  /** Makes this ferryd's tree, throwing when it cannot (read-only, no
   * permission), and cleans what dead ferryd left in the background. */
  static open(opts: V1Options): V1Cgroups {
    const cg = new V1Cgroups(opts);
    for (const c of V1_CONTROLLERS) makeDir(cg.dirs[c]);
    // A cgroup weighs as one task against its siblings: left at the default
    // 1024 shares, all instances together would get one task's share of a
    // busy host. Weigh the tree as all CPUs, as kubelet does for its pods.
    for (const d of [opts.ferryRoots.cpu, cg.dirs.cpu]) writeKnob(d, 'cpu.shares', treeShares());
    cg.cleaning = cleanStale(Object.values(opts.ferryRoots), opts.dirName, { log: opts.log });
    return cg;
  }

  create(name: string, limits: Limits): InstanceCgroup {
    const dir = (c: V1Controller) => join(this.dirs[c], name);
    // Without a quota the cpu controller has nothing to enforce: the
    // instance stays in ferryd's cpu cgroup and is scheduled as before.
    const all = V1_CONTROLLERS.filter((c) => c !== 'cpu' || limits.cpuMilli > 0).map(dir);
    try {
      for (const d of all) makeDir(d);
      if (limits.cpuMilli > 0) {
        writeKnob(dir('cpu'), 'cpu.cfs_period_us', CPU_PERIOD_US);
        if (!limits.deferCpuQuota) writeKnob(dir('cpu'), 'cpu.cfs_quota_us', cpuQuotaUs(limits.cpuMilli));
        writeKnob(dir('cpu'), 'cpu.shares', Math.max(2, Math.round((1024 * limits.cpuMilli) / 1000)));
      }
      if (limits.memoryMb > 0) {
        const bytes = limits.memoryMb * MiB;
        writeKnob(dir('memory'), 'memory.limit_in_bytes', bytes);
        // memsw must not be below the limit: set after it.
        if (existsSync(join(dir('memory'), 'memory.memsw.limit_in_bytes'))) writeKnob(dir('memory'), 'memory.memsw.limit_in_bytes', bytes);
      }
      writeKnob(dir('pids'), 'pids.max', limits.pids);
    } catch (err) {
      void emptyAndRemove(all, { log: this.opts.log });
      throw err;
    }
    return {
      path: dir('memory'),
      procsFiles: all.map((d) => join(d, 'cgroup.procs')),
      oomKilled: () => (readKeyed(join(dir('memory'), 'memory.oom_control'), 'oom_kill') ?? 0) > 0,
      applyCpuQuota: () => {
        if (limits.cpuMilli > 0) writeKnob(dir('cpu'), 'cpu.cfs_quota_us', cpuQuotaUs(limits.cpuMilli));
      },
      remove: async () => {
        await emptyAndRemove(all, { log: this.opts.log });
      },
    };
  }

  async close(): Promise<void> {
    await this.cleaning;
    await emptyAndRemove(Object.values(this.dirs), { log: this.opts.log });
  }
}
