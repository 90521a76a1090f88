import { fairnessAdvantage } from '../fairness.js';
import type { ScorePlugin } from '../framework.js';

/**
 * Fairness across tenants (Mu's placement, after DRF): a tenant whose
 * dominant share of the cluster is below the others' average gets the
 * better nodes (those with the most room left once the instance is on
 * them), one above it is steered to the tighter ones and leaves the room
 * to the others. A node's quality q is its free dominant share after the
 * instance; the raw score is 50 + 50 * advantage * (2q - 1). For a lone
 * tenant, or tenants with equal shares, it has nothing to say.
 */
export const dominantResourceFairness: ScorePlugin = {
  name: 'DominantResourceFairness',
  prepare: (ctx) => {
    const advantage = fairnessAdvantage(ctx.chain.tenant, ctx.tenants, ctx.capacity);
    if (advantage === 0) return undefined;
    const { cpuMilli, memoryMb } = ctx.stage.resources;
    return (node) => {
      const used = Math.max((node.usedCpuMilli + cpuMilli) / Math.max(1, node.cpuMilli), (node.usedMemoryMb + memoryMb) / Math.max(1, node.memoryMb));
      const q = Math.max(0, Math.min(1, 1 - used));
      return 50 + 50 * advantage * (2 * q - 1);
    };
  },
};
