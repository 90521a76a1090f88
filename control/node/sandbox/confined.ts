/**
 * Instances confined by the ferry-sandbox launcher (dataplane-native/sandbox):
 * the tenant's uid and gid, no capabilities, no_new_privs, the instance's
 * cgroups, a private mount namespace with bpffs hidden, /proc showing only
 * its own user's processes, and the tenant's own /tmp: a directory
 * <tmpRoot>/<uid> on the host (mode 0700, owned by that uid), shared by the
 * tenant's instances and kept across their restarts.
 */
import { chownSync, lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import type { Cgroups } from './cgroups.js';
import { isPrivateDir, unreachableFor } from './reach.js';
import type { FileNeed, InstanceToConfine, PreparedLaunch, Sandbox } from './sandbox.js';
import type { Ids, TenantIds } from './tenant-ids.js';

export interface ConfinedOptions {
  launcher: string;
  cgroups: Cgroups;
  ids: TenantIds;
  /** Where the tenants' /tmp directories are made. */
  tmpRoot: string;
  /** More paths to hide from instances (bpffs mounts are always hidden). */
  hide: string[];
  defaultPids: number;
  log: Logger;
}

/** What instances do not see of the host's file system. */
const PRIVATE_DIRS = ['/tmp', '/dev/shm'];

export class ConfinedSandbox implements Sandbox {
  readonly status: string;
  readonly defaultPids: number;

  constructor(private readonly opts: ConfinedOptions) {
    this.defaultPids = opts.defaultPids;
    this.status = opts.cgroups.kind === 'none' ? `uid, no cgroups: ${opts.cgroups.reason}` : `uid+${opts.cgroups.kind}`;
  }

  get cgroups(): Cgroups {
    return this.opts.cgroups;
  }

  ids(tenant: string): Ids {
    return this.opts.ids.ids(tenant);
  }

  unreachable(tenant: string, files: FileNeed[]): string | undefined {
    const ids = this.ids(tenant);
    for (const f of files) {
      const why = unreachableFor(f, ids, PRIVATE_DIRS);
      if (why) return why;
    }
    return undefined;
  }

  prepare(instance: InstanceToConfine): PreparedLaunch {
    const ids = this.ids(instance.tenant);
    const tmp = this.tenantTmp(ids);
    const cgroup = this.opts.cgroups.create(instance.name, instance.limits);
    const fixed = ['--uid', String(ids.uid), '--gid', String(ids.gid), '--tmp', tmp];
    for (const f of cgroup.procsFiles) fixed.push('--cgroup', f);
    for (const h of this.opts.hide) fixed.push('--hide', h);
    return {
      uid: ids.uid,
      prefix: (passFds) => [this.opts.launcher, ...fixed, ...passFds.flatMap((fd) => ['--keep-fd', String(fd)]), '--'],
      oomKilled: () => cgroup.oomKilled(),
      startupOver: () => {
        try {
          cgroup.applyCpuQuota();
        } catch (err) {
          // The instance may have exited (its cgroup gone) meanwhile.
          this.opts.log.debug('cpu quota not applied', { cgroup: cgroup.path, error: (err as Error).message });
        }
      },
      release: () => cgroup.remove(),
    };
  }

  /** <tmpRoot>/<uid>, made on first use. The root must be root's alone:
   * a directory another user could swap would let them choose what gets
   * mounted at an instance's /tmp. */
  private tenantTmp(ids: Ids): string {
    const root = this.opts.tmpRoot;
    mkdirSync(root, { recursive: true, mode: 0o711 });
    if (!isPrivateDir(lstatSync(root), 0))
      throw new Error(`${root} must be a directory owned by root and writable only by it (it holds the tenants' /tmp); remove it or choose another tmp root`);
    const dir = join(root, String(ids.uid));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!lstatSync(dir).isDirectory()) throw new Error(`${dir} is not a directory: remove it`);
    chownSync(dir, ids.uid, ids.gid);
    return dir;
  }

  close(): Promise<void> {
    return this.opts.cgroups.close();
  }
}
