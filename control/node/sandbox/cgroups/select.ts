/**
 * Which cgroups this node can enforce limits with: v2 when the unified tree
 * offers cpu, memory and pids to ferryd's cgroup, else v1 when those three
 * controllers are mounted as v1 hierarchies, else none with the reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../../log.js';
import type { Cgroups } from '../cgroups.js';
import { NoCgroups } from './none.js';
import { ferrydDirName, parseMountinfo, parseProcCgroup, type Mount } from './tree.js';
import { V1_CONTROLLERS, V1Cgroups, type V1Controller } from './v1.js';
import { V2_CONTROLLERS, V2Cgroups, v2Controllers } from './v2.js';

export interface CgroupSelection {
  /** This node's name: part of ferryd's directory in the tree. */
  node: string;
  log: Logger;
  /** The host's view; tests pass their own. */
  mountinfo?: string;
  procCgroup?: string;
}

export function selectCgroups(opts: CgroupSelection): Cgroups {
  if (process.getuid?.() !== 0) return new NoCgroups('ferryd is not root');
  const mounts = parseMountinfo(opts.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8'));
  const own = parseProcCgroup(opts.procCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'));
  const dirName = ferrydDirName(opts.node);
  const tried: string[] = [];

  const unified = mounts.find((m) => m.fstype === 'cgroup2');
  if (unified && own.v2 !== undefined) {
    const ownDir = join(unified.mountpoint, own.v2);
    const offered = v2Controllers(ownDir);
    if (V2_CONTROLLERS.every((c) => offered.includes(c))) {
      try {
        return V2Cgroups.open({ ownDir, dirName, log: opts.log });
      } catch (err) {
        tried.push(`cgroup v2: ${(err as Error).message}`);
      }
    } else {
      tried.push(`the cgroup v2 tree at ${ownDir} offers ${offered.join(', ') || 'no controllers'}, not ${V2_CONTROLLERS.join(', ')}`);
    }
  }

  const v1Mounts = new Map<V1Controller, Mount>();
  for (const c of V1_CONTROLLERS) {
    const m = mounts.find((x) => x.fstype === 'cgroup' && x.superOptions.includes(c));
    if (m) v1Mounts.set(c, m);
  }
  const missing = V1_CONTROLLERS.filter((c) => !v1Mounts.has(c));
  if (missing.length === 0) {
    const root = (c: V1Controller) => join(v1Mounts.get(c)!.mountpoint, own.v1.get(c) ?? '/', 'ferry');
    try {
      return V1Cgroups.open({ ferryRoots: { cpu: root('cpu'), memory: root('memory'), pids: root('pids') }, dirName, log: opts.log });
    } catch (err) {
      tried.push(`cgroup v1: ${(err as Error).message}`);
    }
  } else {
    tried.push(`no cgroup v1 ${missing.join(', ')} controller mounted`);
  }
  return new NoCgroups(tried.join('; '));
}
