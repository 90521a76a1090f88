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
 * (REPLY -> entry, or each of ir.entries), (s -> n) for each `next`, and (s -> REPLY) for every
 * stage, since any stage may fail a request back to the caller.
 */
export function allowEdges(ir: ChainIR): AllowEdge[] {
  const edges: AllowEdge[] = (ir.entries ?? [ir.entry]).map((e): AllowEdge => [STAGE_REPLY, e]);
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

/**
 * The route table of `node` for every stage of the chain, preferring local
 * instances: where `node` runs instances of a stage (with some weight), the
 * route is those alone; otherwise it is the stage's instances on other
 * nodes, each marked with its node, and ferryd there sends them through its
 * egress endpoint to the peer node.
 *
 * Preferring local is what keeps hops on one node and rules out loops: a
 * request that crossed to node B for stage S always finds B's own instance
 * of S there and never bounces back. The price is that a node's own
 * instances take all of its traffic for the stage; placement and the
 * gateway tier spread load across nodes.
 *
 * Every stage gets a route (a local instance may send to a stage that only
 * runs elsewhere); a stage with no instance anywhere is an error unless it
 * may scale to zero, in which case its route is empty until an instance
 * starts.
 */
export function routeTables(ir: ChainIR, placement: ReadonlyMap<number, readonly Placed[]>, node: string): StageRoute[] {
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
    const local = placed.filter((p) => p.node === node);
    // Local instances that all have weight 0 (being drained) take nothing:
    // the stage is served from other nodes meanwhile.
    const targets =
      local.reduce((sum, p) => sum + p.weight, 0) > 0
        ? local.map((p) => ({ instance: p.instance, weight: p.weight }))
        : placed.filter((p) => p.node !== node).map((p) => ({ instance: p.instance, weight: p.weight, node: p.node }));
    if (targets.length > MAX_ROUTE_TARGETS) {
      throw new Error(`chain ${chain}: stage "${s.name}" needs ${targets.length} route targets on node ${node}; a route holds at most ${MAX_ROUTE_TARGETS}`);
    }
    return { stage: s.id, targets };
  });
}
