/**
 * Picks how this node confines instances, and says so loudly when it
 * cannot: a warning at start naming what is missing, and the status that
 * GetNodeInfo and `ferry get nodes` show.
 *
 *   on:   the launcher must work (ferryd fails to start otherwise);
 *         cgroups are used where available
 *   auto: as on, or unconfined with a warning when the launcher cannot run
 *   off:  unconfined, with a warning (requested)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Logger } from '../../log.js';
import { paths } from '../../paths.js';
import type { Cgroups } from './cgroups.js';
import { selectCgroups } from './cgroups/select.js';
import { ConfinedSandbox } from './confined.js';
import { INSTANCE_PATH } from './environment.js';
import { DEFAULT_PIDS, type Sandbox, type SandboxRequest } from './sandbox.js';
import { DEFAULT_UID_BASE, DEFAULT_UID_RANGE, TenantIds } from './tenant-ids.js';
import { Unconfined } from './unconfined.js';

export const DEFAULT_TMP_ROOT = '/tmp/ferry-sandbox';

export interface SandboxSelection {
  mode?: SandboxRequest;
  /** This node's name (its cgroup tree is named after it). */
  node: string;
  log: Logger;
  uidBase?: number;
  uidRange?: number;
  defaultPids?: number;
  tmpRoot?: string;
  /** More paths to hide from instances, e.g. ferryd's state. */
  hide?: string[];
  launcher?: string;
  /** Replaces cgroup detection (tests of the unsandboxed paths). */
  cgroups?: Cgroups;
}

const WARNING = 'instances are NOT sandboxed: they run as ferryd\'s user, with its privileges and without resource limits';

export function selectSandbox(opts: SandboxSelection): Sandbox {
  const mode = opts.mode ?? (process.env.FERRY_SANDBOX as SandboxRequest | undefined) ?? 'auto';
  if (mode !== 'auto' && mode !== 'on' && mode !== 'off') throw new Error(`sandbox mode must be auto, on or off (got "${String(mode)}")`);
  const defaultPids = opts.defaultPids ?? DEFAULT_PIDS;
  if (!Number.isInteger(defaultPids) || defaultPids < 1) throw new Error(`default pids limit must be 1 or more (got ${defaultPids})`);
  const off = (reason: string): Sandbox => {
    const s = new Unconfined(reason, defaultPids);
    opts.log.warn(`sandbox: off — ${WARNING}. Reason: ${reason}`, { sandbox: s.status });
    return s;
  };
  if (mode === 'off') return off('--sandbox off was requested');

  const ids = new TenantIds(opts.uidBase ?? DEFAULT_UID_BASE, opts.uidRange ?? DEFAULT_UID_RANGE);
  const launcher = opts.launcher ?? paths.sandboxLauncher;
  const problem = process.getuid?.() !== 0 ? 'ferryd is not root, so it cannot switch instances to other users' : selfTest(launcher, ids.base);
  if (problem) {
    if (mode === 'on') throw new Error(`sandbox: ${problem}`);
    return off(problem);
  }
  const cgroups = opts.cgroups ?? selectCgroups({ node: opts.node, log: opts.log });
  const sandbox = new ConfinedSandbox({
    launcher,
    cgroups,
    ids,
    tmpRoot: opts.tmpRoot ?? DEFAULT_TMP_ROOT,
    hide: opts.hide ?? [],
    defaultPids,
    log: opts.log,
  });
  if (cgroups.kind === 'none')
    opts.log.warn(`sandbox: instances run as unprivileged users but WITHOUT resource limits (no cgroups). Reason: ${cgroups.reason}`, { sandbox: sandbox.status });
  else opts.log.info(`sandbox: ${sandbox.status}`, { sandbox: sandbox.status, uids: `${ids.base}..${ids.base + ids.range - 1}` });
  return sandbox;
}

/** Run `true` through the launcher once: proves it is built and that this
 * host lets it unshare, mount and switch users. */
function selfTest(launcher: string, uid: number): string | undefined {
  if (!existsSync(launcher)) return `the sandbox launcher ${launcher} is not built (npm run setup)`;
  const r = spawnSync(launcher, ['--uid', String(uid), '--gid', String(uid), '--', 'true'], { env: { PATH: INSTANCE_PATH }, encoding: 'utf8', timeout: 10_000 });
  if (r.error) return `the sandbox launcher ${launcher} did not run: ${r.error.message}`;
  if (r.status !== 0) return `the sandbox launcher's self-test failed (${r.stderr.trim() || `exit ${r.status ?? r.signal}`})`;
  return undefined;
}
