import type { ScorePlugin } from '../framework.js';

/** Prefer nodes that already run the stages this one talks to: a hop that
 * stays on a node is a descriptor through shared memory, not a payload
 * over the network. */
export const chainLocality: ScorePlugin = {
  name: 'ChainLocality',
  weight: 3,
  score: (ctx, node) => {
    const neighbours = new Set<number>(ctx.stage.next.map((n) => n.id));
    for (const s of ctx.chain.stages) if (s.next.some((n) => n.id === ctx.stage.id)) neighbours.add(s.id);
    let here = 0;
    let total = 0;
    for (const id of neighbours) {
      const nodes = ctx.placed.get(id) ?? [];
      total += nodes.length;
      here += nodes.filter((n) => n === node.name).length;
    }
    return total === 0 ? 50 : (100 * here) / total;
  },
};
