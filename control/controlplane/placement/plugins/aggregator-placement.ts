/**
 * Where an aggregation job's aggregators go (control/fl/DESIGN.md), the
 * part LIFL left as stubs, as two plugins of the placement framework; for
 * any other chain both have nothing to say.
 *
 * AggregatorNodes (filter): leaves only where updates arrive, so an
 * upload is folded on the node it landed on (spec.placement.nodes, else
 * every node serving a gateway); the top only on spec.placement.top when
 * the job names one.
 *
 * AggregatorPacking (score): leaves spread evenly over those nodes (the
 * fewest of this job's leaves first); the top and mids by best fit on
 * memory: the node whose free memory after this aggregator (2 x the model,
 * compile.ts) is smallest, leaving large holes for large models. ResourceFit
 * has already dropped nodes it would not fit. Scores are min-max
 * normalised, so the best node gets the whole weight however close the
 * raw numbers are: locality of chains cannot outvote a clearly better fit.
 */
import type { JobIR } from '../../../fl/job/ir.js';
import type { FilterPlugin, NodeView, PlacementContext, ScorePlugin } from '../framework.js';

const isLeaf = (job: JobIR, stage: number) => job.leaves.includes(stage);

/** The nodes updates arrive at. */
function arrivalNodes(job: JobIR, nodes: readonly NodeView[]): Set<string> {
  return new Set(job.placement.nodes ?? nodes.filter((n) => n.gateway).map((n) => n.name));
}

export const aggregatorNodes: FilterPlugin = {
  name: 'AggregatorNodes',
  prepare: (ctx) => {
    const job = ctx.chain.job;
    if (!job) return undefined;
    if (isLeaf(job, ctx.stage.id)) {
      const arrive = arrivalNodes(job, ctx.nodes);
      const where = job.placement.nodes ? `spec.placement.nodes (${job.placement.nodes.join(', ')})` : 'the nodes serving a gateway';
      return (node) => (arrive.has(node.name) ? undefined : `a leaf aggregator runs where updates arrive: ${where}`);
    }
    const top = job.placement.top;
    if (ctx.stage.id === job.top && top !== undefined) return (node) => (node.name === top ? undefined : `spec.placement.top is ${top}`);
    return undefined;
  },
};

/** Raw scores to 0..100 with the best at 100 and the worst at 0; all
 * alike: all 100. */
function normalizeMinMax(scores: Float64Array): void {
  let min = Infinity;
  let max = -Infinity;
  for (const s of scores) {
    if (s < min) min = s;
    if (s > max) max = s;
  }
  for (let i = 0; i < scores.length; i++) scores[i] = max === min ? 100 : (100 * (scores[i]! - min)) / (max - min);
}

function leavesOn(job: JobIR, ctx: PlacementContext): Map<string, number> {
  const count = new Map<string, number>();
  for (const leaf of job.leaves) for (const n of ctx.placed.get(leaf) ?? []) count.set(n, (count.get(n) ?? 0) + 1);
  return count;
}

export const aggregatorPacking: ScorePlugin = {
  name: 'AggregatorPacking',
  prepare: (ctx) => {
    const job = ctx.chain.job;
    if (!job) return undefined;
    if (isLeaf(job, ctx.stage.id)) {
      const count = leavesOn(job, ctx);
      return (node) => -(count.get(node.name) ?? 0);
    }
    const need = ctx.stage.resources.memoryMb;
    // Smaller hole left, higher score (raw scores may be negative: min-max
    // normalising only looks at their order and spacing).
    return (node) => -(node.memoryMb - node.usedMemoryMb - need);
  },
  normalize: normalizeMinMax,
};
