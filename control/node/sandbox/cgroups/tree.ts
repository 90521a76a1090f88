/**
 * What v1 and v2 share: where ferryd's cgroups live, how to tell a dead
 * ferryd's tree, and how to empty and remove a cgroup. A v1 instance has one
 * directory per controller, a v2 instance one directory: both are handled as
 * a list of directories.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Logger } from '../../../log.js';

export interface Mount {
  mountpoint: string;
  fstype: string;
  superOptions: string[];
}

/** /proc/self/mountinfo: "id parent maj:min root mountpoint opts ... - fstype source superopts". */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountpoint = left.split(' ')[4];
    const [fstype, , superOpts] = right.split(' ');
    if (!mountpoint || !fstype) continue;
    mounts.push({ mountpoint: unescapeOctal(mountpoint), fstype, superOptions: (superOpts ?? '').split(',') });
  }
  return mounts;
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** /proc/self/cgroup: "0::/path" (v2) and "N:ctrl,ctrl:/path" (v1). */
export function parseProcCgroup(text: string): { v2?: string; v1: Map<string, string> } {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, id, ctrls, path] = m as unknown as [string, string, string, string];
    if (id === '0' && ctrls === '') v2 = path;
    else for (const c of ctrls.split(',')) if (c) v1.set(c, path);
  }
  return { v2, v1 };
}

/** A process's start time (clock ticks since boot), or undefined if gone. */
export function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

/** This ferryd's directory name under <root>/ferry. */
export function ferrydDirName(node: string, pid = process.pid): string {
  return `${node}@${pid}-${startTime(pid) ?? 0}`;
}

/** A directory of a ferryd process that no longer runs. */
export function isStaleFerrydDir(name: string): boolean {
  const m = /@(\d+)-(\d+)$/.exec(name);
  if (!m) return false;
  return startTime(Number(m[1])) !== Number(m[2]);
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}

export function readPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export type Rmdir = (dir: string) => void;

export interface EmptyOptions {
  /** v2's cgroup.kill: one write kills every process in the cgroup, even
   * ones forked meanwhile. Returns false when not available. */
  killAll?: (dir: string) => boolean;
  rmdir?: Rmdir;
  log?: Logger;
  /** How long to keep killing before giving up (a fork bomb is bounded by
   * pids.max, so this is generous). */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kill everything in the directories' cgroups, then remove them. A
 * directory that is already gone counts as removed. Resolves true when all
 * are gone. */
export async function emptyAndRemove(dirs: string[], opts: EmptyOptions = {}): Promise<boolean> {
  const rmdir = opts.rmdir ?? rmdirSync;
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  let left = dirs.filter((d) => existsSync(d));
  for (;;) {
    for (const d of left) {
      if (opts.killAll?.(d)) continue;
      for (const pid of readPids(d)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    left = left.filter((d) => {
      try {
        rmdir(d);
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code !== 'ENOENT';
      }
    });
    if (left.length === 0) return true;
    if (Date.now() > deadline) {
      opts.log?.warn('cgroup not removed: processes still in it', { cgroups: left, pids: left.flatMap(readPids) });
      return false;
    }
    await sleep(10);
  }
}

/** Remove what dead ferryd processes left under each <root>/ferry (its
 * instances killed): runs in the background while ferryd starts. */
export async function cleanStale(ferryRoots: string[], own: string, opts: EmptyOptions): Promise<string[]> {
  const cleaned: string[] = [];
  for (const root of ferryRoots) {
    for (const dir of subdirs(root)) {
      if (basename(dir) === own || !isStaleFerrydDir(dir)) continue;
      if (await emptyAndRemove([...subdirs(dir), dir], opts)) cleaned.push(dir);
    }
  }
  if (cleaned.length > 0) opts.log?.info('removed cgroups of a previous ferryd', { cgroups: cleaned });
  return cleaned;
}

/** mkdir -p that says which directory could not be made. */
export function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create cgroup ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Write a cgroup interface file, saying which and what on failure. */
export function writeKnob(dir: string, file: string, value: string | number): void {
  try {
    writeFileSync(join(dir, file), String(value));
  } catch (err) {
    throw new Error(`cannot write ${value} to ${join(dir, file)}: ${(err as Error).message}`, { cause: err });
  }
}

/** "key value" lines (memory.events, memory.oom_control) -> value of key. */
export function readKeyed(file: string, key: string): number | undefined {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k === key) return Number(v);
    }
  } catch {
    // gone or unreadable: unknown
  }
  return undefined;
}
