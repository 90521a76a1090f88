import type { FilterPlugin } from '../framework.js';

/** A chain spreads over several nodes only when their ferryd can hand
 * requests to each other (a peer listener, ferryd --peer): otherwise every
 * stage stays with the ones placed (or running) before it. */
export const peerReach: FilterPlugin = {
  name: 'PeerReach',
  prepare: (ctx) => {
    const used = [...new Set([...ctx.placed.values()].flat())];
    const lone = used.filter((n) => !ctx.byName.get(n)?.peered);
    return (node) => {
      if (used.every((n) => n === node.name)) return undefined;
      const elsewhere = used.filter((n) => n !== node.name);
      if (!node.peered) return `no peer listener (ferryd --peer), and the chain already runs on ${elsewhere.join(', ')}`;
      const unreachable = lone.filter((n) => n !== node.name);
      if (unreachable.length) return `the chain already runs on ${unreachable.join(', ')}, which has no peer listener (ferryd --peer)`;
      return undefined;
    };
  },
};
