/**
 * CPU of every process of a system under test, polled from /proc while a
 * measurement runs: utime + stime of each pid the system names now, so a
 * process that exits between polls still counts up to its last poll and
 * one born during the window counts from zero. Polling, not one reading
 * at each end, because the set of processes changes (instances restart).
 */
import { processUsage } from '../../../control/ferryd/procfs.js';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

export interface CpuReading {
  /** CPU seconds (user + system) the system's processes used in the window. */
  cpuSeconds: number;
  wallSeconds: number;
  /** Distinct processes seen. */
  processes: number;
}

export class CpuSampler {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;

  constructor(
    private readonly pids: () => number[],
    private readonly everyMs = 500,
  ) {}

  start(): void {
    this.startedAt = performance.now();
    // Processes alive now count from their present ticks; later ones from 0.
    for (const pid of this.pids()) {
      const t = processUsage(pid).cpuTicks;
      this.first.set(pid, t);
      this.last.set(pid, t);
    }
    this.timer = setInterval(() => this.poll(), this.everyMs);
  }

  private poll(): void {
    for (const pid of this.pids()) {
      const t = processUsage(pid).cpuTicks;
      if (!this.first.has(pid)) this.first.set(pid, 0);
      // An exited pid reads 0: keep what it had.
      if (t >= (this.last.get(pid) ?? 0)) this.last.set(pid, t);
    }
  }

  stop(): CpuReading {
    this.poll();
    clearInterval(this.timer);
    let ticks = 0;
    for (const [pid, last] of this.last) ticks += last - (this.first.get(pid) ?? 0);
    return { cpuSeconds: ticks / TICKS_PER_S, wallSeconds: (performance.now() - this.startedAt) / 1000, processes: this.last.size };
  }
}

/** Runs `work` with a sampler over `pids`; the CPU its processes used. */
export async function withCpu<T>(pids: () => number[], work: () => Promise<T>): Promise<{ result: T; cpu: CpuReading }> {
  const sampler = new CpuSampler(pids);
  sampler.start();
  try {
    const result = await work();
    return { result, cpu: sampler.stop() };
  } catch (err) {
    sampler.stop();
    throw err;
  }
}
