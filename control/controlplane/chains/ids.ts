/**
 * Instance ids are the keys of every node's BPF sockhash and must be unique
 * across the cluster (a descriptor crossing nodes keeps naming its reply
 * gateway by id). The top of the id space is left to the nodes for their own
 * endpoints (egress, ingress, proxies; see SetPeers).
 */
import type { ChainRecord } from './record.js';

/** FERRY_MAX_INSTANCES - 1 in abi.h. */
export const MAX_INSTANCE_ID = 16383;
/** Ids per node for its infrastructure endpoints. */
export const INFRA_IDS_PER_NODE = 64;
/** Nodes that get an infrastructure block; instance ids stay below them. */
export const MAX_NODES = 16;
export const MAX_WORKLOAD_ID = MAX_INSTANCE_ID - INFRA_IDS_PER_NODE * MAX_NODES;

/** The infrastructure id block of the node with this index (0-based). */
export function infraBlock(nodeIndex: number): { base: number; count: number } {
  if (nodeIndex < 0 || nodeIndex >= MAX_NODES) throw new Error(`at most ${MAX_NODES} nodes are supported`);
  return { base: MAX_WORKLOAD_ID + 1 + nodeIndex * INFRA_IDS_PER_NODE, count: INFRA_IDS_PER_NODE };
}

export class IdAllocator {
  private readonly used = new Set<number>();
  private next: number;

  /** start: where the search for a free id begins (the store keeps where
   * the last change stopped, so an id freed by a scale-down is not handed
   * out again at once: counters and metrics keyed by it would see one
   * instance's numbers restart as another's). */
  constructor(records: Iterable<ChainRecord>, start = 1) {
    for (const r of records) for (const id of idsOf(r)) this.used.add(id);
    this.next = Number.isInteger(start) && start >= 1 && start <= MAX_WORKLOAD_ID ? start : 1;
  }

  /** Where the next search starts. */
  get nextId(): number {
    return this.next;
  }

  take(): number {
    for (let tries = 0; tries < MAX_WORKLOAD_ID; tries++) {
      const id = this.next;
      this.next = this.next >= MAX_WORKLOAD_ID ? 1 : this.next + 1;
      if (!this.used.has(id)) {
        this.used.add(id);
        return id;
      }
    }
    throw new Error(`all ${MAX_WORKLOAD_ID} instance ids are in use; delete a chain or lower some scale.min`);
  }
}

export function idsOf(r: ChainRecord): number[] {
  return [...r.instances.map((i) => i.id), ...r.gateways.map((g) => g.id)];
}
