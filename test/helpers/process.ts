/** Whether processes a test started (or had started for it) are gone. */
import { readFileSync } from 'node:fs';
import { waitFor } from '../../control/ferryd/testdata/harness.js';

/** Not running: gone, or a zombie its new parent has not reaped yet (an
 * orphan's parent is PID 1, which reaps when it gets to it). */
export function dead(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

/** Every pid is dead, soon (a SIGKILL is delivered asynchronously). */
export const allDead = (pids: number[], timeoutMs = 2000): Promise<true> =>
  waitFor(`${pids.join(', ')} to be dead`, () => (pids.every(dead) ? true : undefined), timeoutMs);
