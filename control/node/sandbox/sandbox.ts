/**
 * How ferryd confines a function instance: the policy interface, with its
 * implementations beside it (confined.ts: an unprivileged uid per tenant,
 * cgroups, a private mount namespace, through the ferry-sandbox launcher;
 * unconfined.ts: none of it, and why) and select.ts choosing one at start.
 * Either way an instance's environment is the allow-listed one
 * (environment.ts), never ferryd's own.
 */
import type { Limits } from './cgroups.js';

export type SandboxRequest = 'auto' | 'on' | 'off';

/** A file an instance needs and what it does with it. */
export interface FileNeed {
  path: string;
  need: 'read' | 'exec';
}

/** What one instance runs in, from just before spawn to after its exit. */
export interface PreparedLaunch {
  /** The command line that goes before the instance's own command, given
   * the fds the instance inherits on purpose (3, 4, ...): the launcher and
   * its arguments, or nothing. */
  prefix(passFds: number[]): string[];
  /** The uid it runs as; undefined: ferryd's own. */
  readonly uid?: number;
  /** The kernel killed it (or a child) for memory. Read at exit, before
   * release(). */
  oomKilled(): boolean;
  /** Its start-up is over: from now on the CPU quota applies. */
  startupOver(): void;
  /** Undo what prepare() set up (its cgroup): after the instance exited. */
  release(): Promise<void>;
}

export interface InstanceToConfine {
  /** Unique among live instances (an instance id and a start count). */
  name: string;
  tenant: string;
  limits: Limits;
}

export interface Sandbox {
  /** For NodeInfo and `ferry get nodes`: "uid+cgroup-v1",
   * "uid, no cgroups: <why>" or "off: <why>". */
  readonly status: string;
  /** The pids limit when an instance asks for none. */
  readonly defaultPids: number;
  /** Why one of the files is out of the instance's reach (names the path,
   * the uid and what to do); undefined when all are reachable. */
  unreachable(tenant: string, files: FileNeed[]): string | undefined;
  prepare(instance: InstanceToConfine): PreparedLaunch;
  /** After every instance exited and was released. */
  close(): Promise<void>;
}

export const DEFAULT_PIDS = 64;
/** Instances of a chain without a tenant run as the default tenant's user. */
export { DEFAULT_TENANT } from '../../chain/tenant.js';
