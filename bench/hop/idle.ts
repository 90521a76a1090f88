/**
 * What an idle instance costs: after a warm-up of real requests, the CPU
 * time (utime + stime from /proc/PID/stat) it uses while nothing arrives.
 * Event-driven instances sleep in recv()/epoll, so this should be ~0.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FerryBench } from './ferry-case.js';
import type { Runtime } from './options.js';

export interface IdleResult {
  how: string;
  /** The runtime the headline numbers are for (node: it has an event loop). */
  runtime: Runtime;
  seconds: number;
  cpuTicks: number;
  clockTicksPerSec: number;
  /** Every runtime measured, side by side over the same window. */
  byRuntime: { runtime: Runtime; cpuTicks: number; pid: number }[];
}

/** utime + stime of a process, in clock ticks (fields 14 and 15). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function clockTicksPerSec(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

const IDLE_STAGE_BASE = 100;

export async function measureIdle(bench: FerryBench, runtimes: Runtime[], seconds: number): Promise<IdleResult> {
  const echoes = runtimes.map((runtime, i) => ({ runtime, stage: IDLE_STAGE_BASE + i, ...bench.spawnEcho(runtime, IDLE_STAGE_BASE + i) }));
  try {
    for (const e of echoes) await bench.ping(e.stage, 200);
    await sleep(1000); // let the last request's work (and a GC) finish
    const before = echoes.map((e) => cpuTicks(e.pid));
    await sleep(seconds * 1000);
    const byRuntime = echoes.map((e, i) => ({ runtime: e.runtime, cpuTicks: cpuTicks(e.pid) - before[i]!, pid: e.pid }));
    const head = byRuntime.find((r) => r.runtime === 'node') ?? byRuntime[0]!;
    return {
      how: `utime + stime (/proc/<pid>/stat) of each echo instance over ${seconds} s with nothing sent, after 200 requests and 1 s to settle`,
      runtime: head.runtime,
      seconds,
      cpuTicks: head.cpuTicks,
      clockTicksPerSec: clockTicksPerSec(),
      byRuntime,
    };
  } finally {
    for (const e of echoes) await bench.dp.stop(e.id);
  }
}
