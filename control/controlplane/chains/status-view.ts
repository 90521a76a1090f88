/**
 * ChainStatus as the admin API's reads serve it (GetChain, ListChains):
 * computed once per change of what it is made of, not per call. A status
 * joins the stored record with what nodes said last (their stats samples,
 * once a second, and their instance events) and with the instance states
 * asked of them; none of that changes between a node's samples and events,
 * so a status is kept until the record, a stats sample, an instance event
 * of the chain or the chain's health differs. Before this, every read
 * asked each ferryd for its instances over gRPC and recomputed the
 * windows (bench:admin: ~870 GetChain calls per second, 1 ms of control
 * plane CPU each). Writes (apply, scale, replace) answer a fresh status.
 */
import type { ChainStatus } from '../admin/proto.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { ChainHealth } from './manager.js';
import type { ChainRecord } from './record.js';
import { chainStatus, liveInstances } from './status.js';

export class StatusView {
  private samples = 0;
  private readonly events = new Map<number, number>();
  private readonly kept = new Map<number, { key: string; status: Promise<ChainStatus> }>();
  private readonly onStats = () => void this.samples++;
  private readonly onInstance = (_node: string, e: { chainId: number }) => void this.events.set(e.chainId, (this.events.get(e.chainId) ?? 0) + 1);

  constructor(private readonly nodes: NodeRegistry) {
    nodes.fromNodes.on('stats', this.onStats);
    nodes.fromNodes.on('instance', this.onInstance);
  }

  close(): void {
    this.nodes.fromNodes.off('stats', this.onStats);
    this.nodes.fromNodes.off('instance', this.onInstance);
  }

  /** The chain's status; fresh: computed now whatever is kept (after a write). */
  status(r: ChainRecord, health: ChainHealth | undefined, fresh = false): Promise<ChainStatus> {
    const key = [
      r.generation,
      r.appliedAtMs,
      r.instances.map((i) => `${i.id}@${i.node}/${i.weight}/${i.version ?? ''}`).join(','),
      r.gateways.map((g) => `${g.id}@${g.node}`).join(','),
      this.samples,
      this.events.get(r.chainId) ?? 0,
      health ? `${health.state}:${health.reason}` : '',
    ].join('|');
    const had = this.kept.get(r.chainId);
    if (!fresh && had?.key === key) return had.status;
    const status = liveInstances(r, this.nodes).then((live) => chainStatus(r, this.nodes, live, health));
    this.kept.set(r.chainId, { key, status });
    // A failed computation is not kept: the next read tries again.
    status.catch(() => this.kept.get(r.chainId)?.status === status && this.kept.delete(r.chainId));
    return status;
  }

  /** Forget chains that are gone. */
  retain(chainIds: Iterable<number>): void {
    const alive = new Set(chainIds);
    for (const id of this.kept.keys()) if (!alive.has(id)) this.kept.delete(id);
  }
}
