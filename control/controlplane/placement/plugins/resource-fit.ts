import type { FilterPlugin } from '../framework.js';

/** The instance's declared cpu and memory must still fit on the node. */
export const resourceFit: FilterPlugin = {
  name: 'ResourceFit',
  prepare: (ctx) => {
    const { cpuMilli, memoryMb } = ctx.stage.resources;
    return (node) => {
      if (node.usedCpuMilli + cpuMilli > node.cpuMilli) return `needs ${cpuMilli}m cpu, ${node.cpuMilli - node.usedCpuMilli}m free`;
      if (node.usedMemoryMb + memoryMb > node.memoryMb) return `needs ${memoryMb} MB memory, ${node.memoryMb - node.usedMemoryMb} MB free`;
      return undefined;
    };
  },
};
