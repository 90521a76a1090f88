/**
 * How a chain's stages share its p99 SLO. A request crosses one path of
 * stages (chain/paths.ts), and its latency is the sum of theirs; the p99 of
 * a sum is at most the sum of the p99s, so giving each stage of a path a
 * share of the SLO with shares summing to the SLO keeps the chain under
 * it. Shares are proportional to each stage's own service p99: every stage
 * of a path may stretch its unloaded latency by the same factor, so a fast
 * native stage is not handed 40 ms it cannot use while a slow Node stage
 * starves. A stage on several paths (the entry is on all) takes its
 * smallest share, the one that keeps its tightest path under the SLO.
 */
import type { ChainPath } from '../../../../chain/paths.js';

/** Budget per stage id, in ms; a stage on no path gets the whole SLO. */
export function stageBudgets(sloMs: number, paths: readonly ChainPath[], stageCount: number, weightMs: (stage: number) => number): number[] {
  const budgets = new Array<number>(stageCount).fill(sloMs);
  for (const path of paths) {
    const total = path.reduce((sum, s) => sum + Math.max(weightMs(s), 1e-6), 0);
    for (const s of path) {
      const share = (sloMs * Math.max(weightMs(s), 1e-6)) / total;
      budgets[s] = Math.min(budgets[s] ?? sloMs, share);
    }
  }
  return budgets;
}
