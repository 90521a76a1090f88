/** Waiting for a pinger and turning what it printed into result rows. */
import type { ChildProcess } from 'node:child_process';
import type { HopCase, Runtime, Transport } from './options.js';
import { exited, onLines } from './procs.js';
import { resultRow, type CaseLine, type HopResult } from './stats.js';

export interface PingerRun {
  transport: Transport;
  runtime: Runtime;
  cases: HopCase[];
  budgetMs: number;
  /** Where the pinger writes its samples. */
  dir: string;
}

/** Generous: start-up (tsx compiles on the fly) plus each case's budget,
 * its warm-up quarter and one slow round trip. */
function deadlineMs(r: Pick<PingerRun, 'cases' | 'budgetMs'>): number {
  return 30_000 + r.cases.length * (r.budgetMs * 1.5 + 5_000);
}

/**
 * The case lines (by size) a pinger printed until it exited, killed when it
 * overran its deadline; failure says why it did not end well, with its
 * stderr for the report.
 */
export async function awaitPinger(
  child: ChildProcess,
  stderr: () => string,
  r: Pick<PingerRun, 'cases' | 'budgetMs'>,
): Promise<{ lines: Map<number, CaseLine>; failure?: string }> {
  const lines = new Map<number, CaseLine>();
  onLines(child, (text) => {
    try {
      const line = JSON.parse(text) as CaseLine;
      lines.set(line.size, line);
    } catch {
      // not a case line: a stray log message
    }
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, deadlineMs(r));
  const { code, signal } = await exited(child);
  clearTimeout(timer);
  const failure =
    timedOut ? `pinger overran ${deadlineMs(r)} ms and was killed` :
    code !== 0 ? `pinger exited with ${code ?? signal}: ${stderr() || '(no stderr)'}` : undefined;
  return failure ? { lines, failure } : { lines };
}

/** One result row per planned case of a pinger, once it has exited. */
export async function collectPinger(child: ChildProcess, stderr: () => string, r: PingerRun): Promise<HopResult[]> {
  const { lines, failure } = await awaitPinger(child, stderr, r);
  return r.cases.map((c) => resultRow(r.transport, r.runtime, c.size, lines.get(c.size), r.dir, failure));
}
