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

export interface IdleRow {
  runtime: Runtime;
  pid: number;
  /** CPU over the window right after the last request (settling included:
   * V8's memory reducer runs one GC some 8 s after a Node process went quiet). */
  afterLastRequestTicks: number;
  /** CPU over the next window: the instance that simply stays idle. */
  cpuTicks: number;
}

export interface IdleResult {
  how: string;
  /** The runtime of the headline cpuTicks (node: it has an event loop). */
  runtime: Runtime;
  /** Length of each of the two windows. */
  seconds: number;
  cpuTicks: number;
  clockTicksPerSec: number;
  /** Every runtime measured, side by side over the same windows. */
  byRuntime: IdleRow[];
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
    await sleep(1000); // the last reply's own work
    const t0 = echoes.map((e) => cpuTicks(e.pid));
    await sleep(seconds * 1000);
    const t1 = echoes.map((e) => cpuTicks(e.pid));
    await sleep(seconds * 1000);
    const t2 = echoes.map((e) => cpuTicks(e.pid));
    const byRuntime = echoes.map((e, i) => ({
      runtime: e.runtime,
      pid: e.pid,
      afterLastRequestTicks: t1[i]! - t0[i]!,
      cpuTicks: t2[i]! - t1[i]!,
    }));
    const head = byRuntime.find((r) => r.runtime === 'node') ?? byRuntime[0]!;
    return {
      how:
        `utime + stime (/proc/<pid>/stat) of one echo instance per runtime with nothing sent: ` +
        `afterLastRequestTicks over the ${seconds} s starting 1 s after its last of 200 requests, cpuTicks over the ${seconds} s after that`,
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
