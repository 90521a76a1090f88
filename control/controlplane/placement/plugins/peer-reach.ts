import type { FilterPlugin, NodeView } from '../framework.js';

/** Whether every node of a placement call has a peer listener, worked out
 * once per call (the nodes do not change their listeners meanwhile). */
const allPeered = new WeakMap<readonly NodeView[], boolean>();

/** A chain spreads over several nodes only when their ferryd can hand
 * requests to each other (a peer listener, ferryd --peer): otherwise every
 * stage stays with the ones placed (or running) before it. */
export const peerReach: FilterPlugin = {
  name: 'PeerReach',
  prepare: (ctx) => {
    const used = [...new Set([...ctx.placed.values()].flat())];
    if (used.length === 0) return undefined;
    const lone = used.filter((n) => !ctx.node(n)?.peered);
    if (lone.length === 0) {
      let peered = allPeered.get(ctx.nodes);
      if (peered === undefined) allPeered.set(ctx.nodes, (peered = ctx.nodes.every((n) => n.peered)));
      if (peered) return undefined;
    }
    const others = (list: string[], node: string) => list.filter((n) => n !== node);
    return (node) => {
      if (used.length === 1 && used[0] === node.name) return undefined;
      if (!node.peered) return `no peer listener (ferryd --peer), and the chain already runs on ${others(used, node.name).join(', ')}`;
      if (lone.length === 0 || (lone.length === 1 && lone[0] === node.name)) return undefined;
      return `the chain already runs on ${others(lone, node.name).join(', ')}, which has no peer listener (ferryd --peer)`;
    };
  },
};
