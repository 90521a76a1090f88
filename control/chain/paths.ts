/**
 * The routes a request can take through a chain: every path from the entry
 * to a stage that replies (next: []), a branching stage sending each
 * request down one of its next stages. The compiler guarantees a DAG
 * reachable from the entry, so the walk ends; a chain with more paths than
 * `limit` (a long ladder of branches) gets the first `limit` of them.
 */
import type { ChainIR } from './ir.js';

/** Stage ids from the entry to a replying stage. */
export type ChainPath = number[];

export function chainPaths(chain: Pick<ChainIR, 'entry' | 'stages'>, limit = 4096): ChainPath[] {
  const out: ChainPath[] = [];
  const stack: ChainPath[] = [[chain.entry]];
  while (stack.length > 0 && out.length < limit) {
    const path = stack.pop() as ChainPath;
    const stage = chain.stages[path[path.length - 1] as number];
    const next = stage?.next ?? [];
    if (next.length === 0) out.push(path);
    // Pushed in reverse so paths come out in the order `next` lists them.
    for (let i = next.length - 1; i >= 0; i--) stack.push([...path, (next[i] as { id: number }).id]);
  }
  return out;
}
