/**
 * ProgramChain routes as the control plane sends them (targets on other
 * nodes carry their node) and as the router takes them: local targets as
 * they are, and all remote targets of a stage folded into one target, this
 * node's egress endpoint for the chain, with the sum of their weights, so
 * traffic still splits across the cluster in proportion to the weights.
 * Which remote node gets each request is then the egress's pick, by the
 * same weights.
 */
import type { NodeWeight } from '../node/peer/hops.js';
import type { StageRoute as ProgrammedRoute } from './proto.js';

/** A stage's route as the router tables hold it (its policy goes elsewhere). */
type StageRoute = Pick<ProgrammedRoute, 'stage' | 'targets'>;

export interface SplitRoutes {
  /** Every stage's route with only its local targets (node ''). */
  local: StageRoute[];
  /** Stages with remote targets: the nodes and their weights. */
  remote: Map<number, NodeWeight[]>;
}

export function splitRoutes(routes: readonly StageRoute[], self: string): SplitRoutes {
  const remote = new Map<number, NodeWeight[]>();
  const local = routes.map((r) => {
    const here = r.targets.filter((t) => !t.node || t.node === self);
    const there = r.targets.filter((t) => t.node && t.node !== self).map((t) => ({ node: t.node, weight: t.weight }));
    if (there.length > 0) remote.set(r.stage, there);
    return { stage: r.stage, targets: here.map((t) => ({ instance: t.instance, weight: t.weight, node: '' })) };
  });
  return { local, remote };
}

/** The routes for the router: local targets plus the egress for remote ones. */
export function withEgress(split: SplitRoutes, egressId: number | undefined): StageRoute[] {
  return split.local.map((r) => {
    const weight = (split.remote.get(r.stage) ?? []).reduce((sum, n) => sum + n.weight, 0);
    if (egressId === undefined || weight === 0) return r;
    return { stage: r.stage, targets: [...r.targets, { instance: egressId, weight, node: '' }] };
  });
}
