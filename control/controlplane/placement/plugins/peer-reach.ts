import type { FilterPlugin } from '../framework.js';

/** A chain spreads over several nodes only when their ferryd can hand
 * requests to each other (a peer listener, ferryd --peer): otherwise every
 * stage stays with the ones placed before it. */
export const peerReach: FilterPlugin = {
  name: 'PeerReach',
  filter: (ctx, node) => {
    const elsewhere = [...new Set([...ctx.placed.values()].flat())].filter((n) => n !== node.name);
    if (elsewhere.length === 0) return undefined;
    if (!node.peered) return `no peer listener (ferryd --peer), and the chain already runs on ${elsewhere.join(', ')}`;
    const lone = elsewhere.filter((n) => !ctx.nodes.find((v) => v.name === n)?.peered);
    if (lone.length) return `the chain already runs on ${lone.join(', ')}, which has no peer listener (ferryd --peer)`;
    return undefined;
  },
};
