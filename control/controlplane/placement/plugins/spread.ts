import type { ScorePlugin } from '../framework.js';

/** Prefer the least loaded node (by the share of its cpu already taken),
 * so replicas of a stage spread and one node's failure takes fewer of
 * them. Raw score: free cpu share, 0..100. */
export const spread: ScorePlugin = {
  name: 'Spread',
  prepare: () => (node) => 100 * (1 - Math.min(1, node.usedCpuMilli / Math.max(1, node.cpuMilli))),
};
