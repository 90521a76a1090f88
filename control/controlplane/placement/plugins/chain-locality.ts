import type { ScorePlugin } from '../framework.js';

/** Prefer nodes that already run the stages this one talks to (either
 * way): a hop that stays on a node is a descriptor through shared memory,
 * not a payload over the network. Raw score: the share of the neighbours'
 * instances on the node, 0..100; 50 everywhere while no neighbour runs. */
export const chainLocality: ScorePlugin = {
  name: 'ChainLocality',
  prepare: (ctx) => {
    const neighbours = new Set<number>(ctx.stage.next.map((n) => n.id));
    for (const s of ctx.chain.stages) if (s.next.some((n) => n.id === ctx.stage.id)) neighbours.add(s.id);
    const here = new Map<string, number>();
    let total = 0;
    for (const id of neighbours) {
      for (const n of ctx.placed.get(id) ?? []) {
        here.set(n, (here.get(n) ?? 0) + 1);
        total++;
      }
    }
    return (node) => (total === 0 ? 50 : (100 * (here.get(node.name) ?? 0)) / total);
  },
};
