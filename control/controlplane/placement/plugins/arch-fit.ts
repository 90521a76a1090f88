import type { FilterPlugin } from '../framework.js';

/** The node's architecture must be one the function ships for. */
export const archFit: FilterPlugin = {
  name: 'ArchFit',
  filter: (ctx, node) =>
    ctx.stage.archs.some((a) => node.archs.includes(a))
      ? undefined
      : `node is ${node.archs.join('/')}, function supports ${ctx.stage.archs.join('/')}`,
};
