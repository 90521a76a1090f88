/**
 * Resident memory of the aggregator processes, from /proc/<pid>/status:
 * VmHWM is a process's own peak (exact, kernel-kept), the Rss* split says
 * what kind of pages they are (anonymous heap, file, shared memory: the
 * pool is shared memory, mapped by ferryd and every aggregator, so it is
 * counted once, not per process). A sampler polls a reading while rounds
 * run and keeps its peak (no busy loop: a timer every 50 ms).
 */
import { readFileSync } from 'node:fs';

export interface ProcMemory {
  hwmBytes: number;
  rssBytes: number;
  anonBytes: number;
  fileBytes: number;
  shmemBytes: number;
}

const ZERO: ProcMemory = { hwmBytes: 0, rssBytes: 0, anonBytes: 0, fileBytes: 0, shmemBytes: 0 };

/** A process's memory now (zeros when it has exited). */
export function procMemory(pid: number): ProcMemory {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return ZERO;
  }
  const kb = (key: string) => 1024 * Number(new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text)?.[1] ?? 0);
  return { hwmBytes: kb('VmHWM'), rssBytes: kb('VmRSS'), anonBytes: kb('RssAnon'), fileBytes: kb('RssFile'), shmemBytes: kb('RssShmem') };
}

/** Polls `read` every intervalMs until stopped; peak() is the largest reading. */
export class PeakSampler {
  private max = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly read: () => number,
    intervalMs = 50,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): number {
    const v = this.read();
    if (v > this.max) this.max = v;
    return v;
  }

  /** Stops polling, takes one last reading, and returns the peak. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.max;
  }
}
