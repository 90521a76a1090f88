import type { ScorePlugin } from '../framework.js';

/** Prefer nodes that already run the stages this one talks to (either
 * way): a hop that stays on a node is a descriptor through shared memory,
 * not a payload over the network. Raw score: the share of the neighbours'
 * instances on the node, 0..100; while no neighbour runs, nothing to say. */
export const chainLocality: ScorePlugin = {
  name: 'ChainLocality',
  prepare: (ctx) => {
    const neighbours = new Set<number>(ctx.stage.next.map((n) => n.id));
    for (const s of ctx.chain.stages) if (s.next.some((n) => n.id === ctx.stage.id)) neighbours.add(s.id);
    const counts = new Map<string, number>();
    let total = 0;
    for (const id of neighbours) {
      for (const n of ctx.placed.get(id) ?? []) {
        counts.set(n, (counts.get(n) ?? 0) + 1);
        total++;
      }
    }
    if (total === 0) return undefined;
    // A chain runs on a few nodes: compared by identity, not looked up by name per node.
    const here = [...counts].map(([name, n]) => ({ view: ctx.node(name), score: (100 * n) / total }));
    return (node) => {
      for (const h of here) if (h.view === node) return h.score;
      return 0;
    };
  },
};
