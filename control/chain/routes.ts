/**
 * From the IR to what the router needs: the allow-list of stage-to-stage
 * edges, and one node's route table (which instances serve each stage, with
 * weights). The router drops anything not allowed, so the allow-list is the
 * security boundary of a chain: it is derived only from `next`.
 */
import type { AllowEdge, ChainIR, StageRoute } from './ir.js';
import { MAX_SCALE } from './schema.js';

/** The gateway as a stage, on either side of an edge. Equals
 * FERRY_STAGE_REPLY in abi.h (re-exported by control/dataplane/descriptor.ts;
 * a test checks they agree). Defined here so compiling a chain does not need
 * the native addon. */
export const STAGE_REPLY = 0xffff;

/** Targets one route entry holds (FERRY_MAX_REPLICAS in abi.h). */
const MAX_ROUTE_TARGETS = MAX_SCALE;

/**
 * (REPLY -> entry), (s -> n) for each `next`, and (s -> REPLY) for every
 * stage, since any stage may fail a request back to the caller.
 */
export function allowEdges(ir: ChainIR): AllowEdge[] {
  const edges: AllowEdge[] = [[STAGE_REPLY, ir.entry]];
  for (const s of ir.stages) {
    for (const n of s.next) edges.push([s.id, n.id]);
    edges.push([s.id, STAGE_REPLY]);
  }
  return edges;
}

/** One placed instance of a stage. */
export interface Placed {
  instance: number;
  node: string;
  weight: number;
}

export interface RouteTableOptions {
  /** The chain's numeric id; needed only when some stage has remote instances. */
  chainId?: number;
  /** The instance id of this node's egress endpoint for a chain (ferryd
   * forwards what it receives there to the peer node). */
  egressInstance?: (chainId: number) => number;
}

/**
 * The route table of `node` for every stage of the chain. Local instances
 * are targets themselves; instances on other nodes are represented by one
 * egress target whose weight is the sum of theirs, so traffic still splits
 * in proportion to the weights across the cluster. Every stage gets a route
 * (a local instance may send to a stage that only runs elsewhere); a stage
 * with no instance anywhere is an error unless it may scale to zero, in
 * which case its route is empty until an instance starts.
 */
export function routeTables(
  ir: ChainIR,
  placement: ReadonlyMap<number, readonly Placed[]>,
  node: string,
  opts: RouteTableOptions = {},
): StageRoute[] {
  const chain = `${ir.tenant}/${ir.name}`;
  for (const stage of placement.keys()) {
    if (!ir.stages.some((s) => s.id === stage)) throw new Error(`chain ${chain}: placement names stage ${stage}, which the chain does not have`);
  }
  return ir.stages.map((s) => {
    const placed = placement.get(s.id) ?? [];
    if (placed.length === 0) {
      if (s.scale.min === 0) return { stage: s.id, targets: [] };
      throw new Error(`chain ${chain}: stage "${s.name}" (${s.id}) has no instance on any node, but scale.min is ${s.scale.min}`);
    }
    const targets = placed.filter((p) => p.node === node).map((p) => ({ instance: p.instance, weight: p.weight }));
    const remote = placed.filter((p) => p.node !== node);
    if (remote.length > 0) {
      if (!opts.egressInstance || opts.chainId === undefined) {
        throw new Error(`chain ${chain}: stage "${s.name}" has instances on other nodes (${[...new Set(remote.map((p) => p.node))].join(', ')}) but no egress endpoint was given for node ${node}`);
      }
      targets.push({ instance: opts.egressInstance(opts.chainId), weight: remote.reduce((sum, p) => sum + p.weight, 0) });
    }
    if (targets.length > MAX_ROUTE_TARGETS) {
      throw new Error(`chain ${chain}: stage "${s.name}" needs ${targets.length} route targets on node ${node}; a route holds at most ${MAX_ROUTE_TARGETS}`);
    }
    return { stage: s.id, targets };
  });
}
