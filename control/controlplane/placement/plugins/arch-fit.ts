import type { FilterPlugin } from '../framework.js';

/** The node's architecture must be one the function ships for. */
export const archFit: FilterPlugin = {
  name: 'ArchFit',
  prepare: (ctx) => {
    const wanted = ctx.stage.archs;
    return (node) =>
      wanted.some((a) => node.archs.includes(a)) ? undefined : `node is ${node.archs.join('/')}, function supports ${wanted.join('/')}`;
  },
};
