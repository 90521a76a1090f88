import type { ScorePlugin } from '../framework.js';

/** Prefer the least loaded node (by cpu share already taken), so replicas
 * of a stage spread and one node's failure takes fewer of them. */
export const spread: ScorePlugin = {
  name: 'Spread',
  weight: 1,
  score: (_ctx, node) => 100 * (1 - Math.min(1, node.usedCpuMilli / Math.max(1, node.cpuMilli))),
};
