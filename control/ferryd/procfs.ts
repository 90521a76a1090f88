/**
 * What /proc says about this machine and about an instance process: the
 * readings StreamStats reports. Every reader tolerates a process that has
 * just exited (it returns zeros) since instances come and go between the
 * moment ferryd lists them and the moment it reads their files.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessUsage {
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  rssBytes: number;
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** CPU ticks from /proc/<pid>/stat and resident memory from /proc/<pid>/status. */
export function processUsage(pid: number): ProcessUsage {
  if (!(pid > 0)) return { cpuTicks: 0, rssBytes: 0 };
  const stat = readOr(`/proc/${pid}/stat`);
  let cpuTicks = 0;
  if (stat) {
    // The command name (field 2) may contain spaces and parentheses: count
    // fields from the last ')'. utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpuTicks = (Number(fields[11]) || 0) + (Number(fields[12]) || 0);
  }
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(readOr(`/proc/${pid}/status`) ?? '')?.[1] ?? 0);
  return { cpuTicks, rssBytes: rssKb * 1024 };
}

/** CPU time of a process's main thread in ms, from /proc/<pid>/schedstat
 * (nanoseconds, where utime + stime count 10 ms ticks: too coarse for a
 * tick of 100 ms); 0 when it has exited. The runners do their work on the
 * main thread. */
export function mainThreadCpuMs(pid: number): number {
  if (!(pid > 0)) return 0;
  const first = (readOr(`/proc/${pid}/schedstat`) ?? '').split(' ')[0];
  return first ? Number(first) / 1e6 || 0 : 0;
}

export interface MemoryInfo {
  totalBytes: number;
  availableBytes: number;
}

export function memoryInfo(): MemoryInfo {
  const text = readOr('/proc/meminfo') ?? '';
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text)?.[1] ?? 0);
  return { totalBytes: kb('MemTotal') * 1024, availableBytes: kb('MemAvailable') * 1024 };
}

export interface CpuSample {
  busy: number;
  total: number;
}

/** The aggregate "cpu" line of /proc/stat: idle and iowait count as not busy. */
export function cpuSample(): CpuSample {
  const line = (readOr('/proc/stat') ?? '').split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return { busy: 0, total: 0 };
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const total = v.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** Fraction of CPU time spent busy between two samples, 0..1. */
export function cpuBusy(before: CpuSample, after: CpuSample): number {
  const total = after.total - before.total;
  if (total <= 0) return 0;
  return Math.min(1, Math.max(0, (after.busy - before.busy) / total));
}

/** pid and every process below it (children, their children...), from the
 * parent pid (field 4) of each /proc/<pid>/stat; [] when pid is gone. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirOr('/proc')) {
    const child = Number(name);
    if (!Number.isInteger(child)) continue;
    const stat = readOr(`/proc/${child}/stat`);
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), child]);
  }
  if (!readOr(`/proc/${pid}/stat`)) return [];
  const out: number[] = [];
  for (const queue = [pid]; queue.length; ) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** A process's command line as its arguments ([] when it has exited). */
export function processArgv(pid: number): string[] {
  return (readOr(`/proc/${pid}/cmdline`) ?? '').split('\0').filter((a) => a !== '');
}

function readdirOr(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
