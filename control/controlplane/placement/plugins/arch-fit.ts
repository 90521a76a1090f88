import type { Arch } from '../../../chain/ir.js';
import type { FilterPlugin } from '../framework.js';

const ARCHS: readonly Arch[] = ['amd64', 'arm64'];

/** The node's architecture must be one the function ships for. */
export const archFit: FilterPlugin = {
  name: 'ArchFit',
  prepare: (ctx) => {
    const wanted = ctx.stage.archs;
    if (ARCHS.every((a) => wanted.includes(a))) return undefined;
    return (node) => (node.archs.some((a) => wanted.includes(a)) ? undefined : `node is ${node.archs.join('/')}, function supports ${wanted.join('/')}`);
  },
};
