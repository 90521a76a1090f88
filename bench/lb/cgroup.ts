/**
 * A CPU limit for a whole node, as a container's would be: a cgroup with a
 * CFS quota that the node's ferryd is started in (so its instances, which
 * ferryd puts in cgroups below its own, share it). A short period (3 ms by
 * default) spreads the quota evenly, so a node limited to a third of a CPU
 * takes about three times as long for any CPU-bound request instead of
 * running some at full speed and stalling others for most of 100 ms.
 *
 * The machine is shared (other engineers' test runs): a weight (cpu.shares,
 * or cpu.weight in v2) above the default lets the benchmark's nodes get the
 * CPU they ask for while others compete, so the slow node stays about three
 * times slower than the fast ones instead of all of them being slowed alike.
 * cgroup v1 (the cpu controller's mount) or v2 (the unified tree).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyAndRemove, parseMountinfo } from '../../control/node/sandbox/cgroups/tree.js';

export interface CpuCgroup {
  /** The cgroup.procs files to put a process in (v1 with cpuacct mounted
   * apart from cpu: both, so the node can read what it used). */
  procs: string[];
  /** CPUs it may use. */
  cpus: number;
  /** Kill what is left in it (and below) and remove it. */
  remove(): Promise<void>;
}

/** Every directory below dir, deepest first, then dir. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const below = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => tree(join(dir, d.name)));
  return [...below, dir];
}

export interface CpuLimit {
  /** CPUs it may use (absent: no quota, only the weight). */
  cpus?: number;
  periodUs?: number;
  /** Its weight against other cgroups (v1 cpu.shares; default 1024). */
  shares?: number;
}

export function cpuCgroup(name: string, limit: CpuLimit): CpuCgroup {
  const periodUs = limit.periodUs ?? 3000;
  const cpus = limit.cpus;
  const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  const v1 = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes('cpu'));
  const acct = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes('cpuacct'));
  const v2 = mounts.find((m) => m.fstype === 'cgroup2');
  const quotaUs = cpus === undefined ? undefined : Math.max(1000, Math.round(cpus * periodUs));
  const shares = limit.shares ?? 1024;
  const dirs: string[] = [];
  if (v1) {
    dirs.push(join(v1.mountpoint, name));
    if (acct && acct.mountpoint !== v1.mountpoint) dirs.push(join(acct.mountpoint, name));
    for (const d of dirs) mkdirSync(d);
    writeFileSync(join(dirs[0]!, 'cpu.shares'), String(shares));
    if (quotaUs !== undefined) {
      writeFileSync(join(dirs[0]!, 'cpu.cfs_period_us'), String(periodUs));
      writeFileSync(join(dirs[0]!, 'cpu.cfs_quota_us'), String(quotaUs));
    }
  } else if (v2) {
    dirs.push(join(v2.mountpoint, name));
    mkdirSync(dirs[0]!);
    // cpu.weight 100 is v1's 1024 shares.
    writeFileSync(join(dirs[0]!, 'cpu.weight'), String(Math.max(1, Math.min(10_000, Math.round((shares * 100) / 1024)))));
    if (quotaUs !== undefined) writeFileSync(join(dirs[0]!, 'cpu.max'), `${quotaUs} ${periodUs}`);
  } else {
    throw new Error('no cgroup cpu controller is mounted: a node cannot be given a CPU limit here');
  }
  return {
    procs: dirs.map((d) => join(d, 'cgroup.procs')),
    cpus: quotaUs === undefined ? Infinity : quotaUs / periodUs,
    remove: async () => {
      await emptyAndRemove(dirs.flatMap(tree));
    },
  };
}
