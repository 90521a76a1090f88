/**
 * Per-instance cgroups that enforce a function's declared resources.
 *
 * One interface, three implementations (cgroups/): v1 (cpu, memory and pids
 * controllers each on its own hierarchy, as on this project's machines), v2
 * (one unified tree, as on current distributions) and none (no cgroups to
 * use: ferry says why). ferryd's tree sits below its own cgroup, one
 * directory per ferryd process, so instances stay inside whatever budget
 * ferryd itself was given and two ferryd on one host never touch each
 * other's instances:
 *
 *   <controller root>/<ferryd's cgroup>/ferry/<node>@<pid>-<start time>/<instance>
 *
 * The pid and start time let a new ferryd recognise the tree of one that is
 * gone (crashed, killed) and clean it: kill what still runs there, remove it.
 */

export interface Limits {
  /** CPU quota in millicores per period (500: 50 ms per 100 ms); 0: none. */
  cpuMilli: number;
  /** Memory limit; 0: none. */
  memoryMb: number;
  /** Most tasks (processes and threads) at once. */
  pids: number;
  /** Create without the CPU quota; applyCpuQuota() sets it later. */
  deferCpuQuota?: boolean;
}

export interface InstanceCgroup {
  /** Where it is, for logs. */
  readonly path: string;
  /** The cgroup.procs files the launcher writes its pid into. */
  readonly procsFiles: string[];
  /** The kernel's OOM killer killed a process in it. Read before remove(). */
  oomKilled(): boolean;
  /** Set the CPU quota deferred at create(); nothing when there is none. */
  applyCpuQuota(): void;
  /** Kill whatever still runs in it (an instance's forked children) and
   * remove it. Never rejects: a failure is logged by the implementation. */
  remove(): Promise<void>;
}

export interface Cgroups {
  /** "cgroup-v1", "cgroup-v2" or "none". */
  readonly kind: 'cgroup-v1' | 'cgroup-v2' | 'none';
  /** With kind "none": why (what is missing). */
  readonly reason: string;
  /** A new cgroup under ferryd's tree with these limits. The name must be
   * unique among the live ones (an instance restarting gets a new one while
   * its old one may still be being removed). */
  create(name: string, limits: Limits): InstanceCgroup;
  /** Remove ferryd's own tree; its instances' cgroups must be gone. */
  close(): Promise<void>;
}

/** CFS period used for every quota: the kernel's default. */
export const CPU_PERIOD_US = 100_000;

/** Quota per CPU_PERIOD_US for a share of a CPU in millicores. */
export function cpuQuotaUs(cpuMilli: number): number {
  // The kernel refuses quotas under 1 ms.
  return Math.max(1000, Math.round((cpuMilli * CPU_PERIOD_US) / 1000));
}

export const MiB = 1 << 20;
