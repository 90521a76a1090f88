/**
 * A process and everything it started, read from /proc each time it is
 * asked: instances of a system under test restart and come and go, so a
 * list taken once would miss the new ones and keep dead pids.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** pid -> parent pid of every process now (one pass over /proc). */
export function parentMap(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited between readdir and read
    }
    // Field 2 (comm) may hold spaces and ')': fields count from the last ')'.
    const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie has exited and only waits for its parent to reap it: it is
    // no longer part of what runs (a killed instance lingers so until
    // ferryd's SIGCHLD handler runs).
    if (state === 'Z') continue;
    const ppid = Number(parent);
    if (Number.isInteger(ppid)) parents.set(pid, ppid);
  }
  return parents;
}

/** `roots` (those alive) and all their descendants, in no particular order. */
export function processTree(roots: readonly number[], parents = parentMap()): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const out: number[] = [];
  const seen = new Set<number>();
  const stack = roots.filter((r) => parents.has(r));
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}
