/**
 * cgroup v2 (Documentation/admin-guide/cgroup-v2.rst): one unified tree.
 * An instance is one leaf directory:
 *
 *   cpu.max          "$QUOTA $PERIOD" (the limit); cpu.weight its share when
 *                    contended (1..10000, 100 = one CPU's worth of 1024 shares)
 *   memory.max       the limit; memory.swap.max 0 so swap cannot stretch it;
 *                    memory.oom.group 1: an OOM kills the whole instance, not
 *                    one of its children; memory.events "oom_kill" counts kills
 *   pids.max
 *   cgroup.kill      "1" kills every process in it at once (Linux 5.14+)
 *
 * Controllers reach a cgroup only through every ancestor's
 * cgroup.subtree_control, and a non-root cgroup with processes cannot hand
 * controllers down ("no internal processes"). So ferryd enables cpu, memory
 * and pids from its own cgroup down to its tree; when its own cgroup holds
 * processes (ferryd itself, as under systemd with Delegate=yes), it first
 * moves itself into a leaf "ferryd" beside the tree, as systemd recommends
 * for delegated services.
 */
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../../log.js';
import { CPU_PERIOD_US, cpuQuotaUs, MiB, type Cgroups, type InstanceCgroup, type Limits } from '../cgroups.js';
import { cleanStale, emptyAndRemove, makeDir, readKeyed, writeKnob, type Rmdir } from './tree.js';

export const V2_CONTROLLERS = ['cpu', 'memory', 'pids'];

export interface V2Options {
  /** ferryd's own cgroup directory (<unified mount>/<path in /proc/self/cgroup>). */
  ownDir: string;
  /** This ferryd's directory name under <ownDir>/ferry. */
  dirName: string;
  log: Logger;
  /** Removing a cgroup directory (rmdir on cgroupfs; its interface files do
   * not count). Replaced only by tests that lay a v2 tree out in a plain
   * directory. */
  rmdir?: Rmdir;
  /** The process to move out of ownDir when it must become an inner node. */
  pid?: number;
}

/** The controllers a v2 cgroup directory can hand to its children. */
export function v2Controllers(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/** cpu.weight for a CPU share, by the formula Kubernetes uses to turn
 * cgroup v1 shares into v2 weights. */
export function cpuWeight(cpuMilli: number): number {
  const shares = Math.max(2, Math.round((1024 * cpuMilli) / 1000));
  return Math.min(10_000, 1 + Math.floor(((shares - 2) * 9999) / 262_142));
}

export class V2Cgroups implements Cgroups {
  readonly kind = 'cgroup-v2';
  readonly reason = '';
  readonly dir: string;
  private readonly rmdir: Rmdir;
  private cleaning: Promise<unknown> = Promise.resolve();

  private constructor(private readonly opts: V2Options) {
    this.dir = join(opts.ownDir, 'ferry', opts.dirName);
    this.rmdir = opts.rmdir ?? rmdirSync;
  }

  /** Makes this ferryd's tree with the controllers delegated down to it,
   * throwing when it cannot, and cleans what dead ferryd left in the
   * background. */
  static open(opts: V2Options): V2Cgroups {
    const missing = V2_CONTROLLERS.filter((c) => !v2Controllers(opts.ownDir).includes(c));
    if (missing.length > 0) throw new Error(`cgroup v2 at ${opts.ownDir} offers no ${missing.join(', ')} controller`);
    const cg = new V2Cgroups(opts);
    const root = join(opts.ownDir, 'ferry');
    cg.delegate(opts.ownDir);
    makeDir(root);
    cg.delegate(root);
    makeDir(cg.dir);
    cg.delegate(cg.dir);
    // Weigh the tree as all CPUs against its siblings (see v1.ts).
    for (const d of [root, cg.dir]) writeKnob(d, 'cpu.weight', cpuWeight(1000 * availableParallelism()));
    cg.cleaning = cleanStale([root], opts.dirName, { log: opts.log, rmdir: cg.rmdir, killAll });
    return cg;
  }

  /** Let dir's children use the controllers. */
  private delegate(dir: string): void {
    const enable = V2_CONTROLLERS.map((c) => `+${c}`).join(' ');
    try {
      writeKnob(dir, 'cgroup.subtree_control', enable);
    } catch (err) {
      const busy = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'EBUSY';
      if (!busy || dir !== this.opts.ownDir) throw err;
      // Processes in our own cgroup: move ferryd into a leaf, then retry.
      const leaf = join(dir, 'ferryd');
      makeDir(leaf);
      writeKnob(leaf, 'cgroup.procs', this.opts.pid ?? process.pid);
      this.opts.log.info('moved ferryd into a leaf cgroup so its own can hand controllers to instances', { cgroup: leaf });
      writeKnob(dir, 'cgroup.subtree_control', enable);
    }
  }

  create(name: string, limits: Limits): InstanceCgroup {
    const dir = join(this.dir, name);
    try {
      makeDir(dir);
      if (limits.cpuMilli > 0) {
        if (!limits.deferCpuQuota) writeKnob(dir, 'cpu.max', `${cpuQuotaUs(limits.cpuMilli)} ${CPU_PERIOD_US}`);
        writeKnob(dir, 'cpu.weight', cpuWeight(limits.cpuMilli));
      }
      if (limits.memoryMb > 0) {
        writeKnob(dir, 'memory.max', limits.memoryMb * MiB);
        if (existsSync(join(dir, 'memory.swap.max'))) writeKnob(dir, 'memory.swap.max', 0);
      }
      writeKnob(dir, 'memory.oom.group', 1);
      writeKnob(dir, 'pids.max', limits.pids);
    } catch (err) {
      void this.removeDirs([dir]);
      throw err;
    }
    return {
      path: dir,
      procsFiles: [join(dir, 'cgroup.procs')],
      oomKilled: () => (readKeyed(join(dir, 'memory.events'), 'oom_kill') ?? 0) > 0,
      applyCpuQuota: () => {
        if (limits.cpuMilli > 0) writeKnob(dir, 'cpu.max', `${cpuQuotaUs(limits.cpuMilli)} ${CPU_PERIOD_US}`);
      },
      remove: async () => {
        await this.removeDirs([dir]);
      },
    };
  }

  private removeDirs(dirs: string[]): Promise<boolean> {
    return emptyAndRemove(dirs, { killAll, rmdir: this.rmdir, log: this.opts.log });
  }

  async close(): Promise<void> {
    await this.cleaning;
    await this.removeDirs([this.dir]);
  }
}

/** cgroup.kill where the kernel has it (5.14+). */
export function killAll(dir: string): boolean {
  if (!existsSync(join(dir, 'cgroup.kill'))) return false;
  try {
    writeKnob(dir, 'cgroup.kill', 1);
    return true;
  } catch {
    return false;
  }
}
