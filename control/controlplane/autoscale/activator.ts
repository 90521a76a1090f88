/**
 * Scale from zero. A stage scaled to zero has no instance; the gateways of
 * its chain hold its requests and ask for one (a "demand" from ferryd's
 * instance events, again every second while they hold any). The activator
 * answers the first ask by giving the stage one instance through
 * ChainManager.scale: started, ready, then routed, and the ProgramChain
 * that routes it tells the gateways no stage is idle any more, which lets
 * the held requests in. The autoscaler decides everything else (how many
 * once warm, when to go back to zero); this only gets a stage from nothing
 * to something as fast as an instance starts.
 */
import type { Logger } from '../../log.js';
import { formatChainRef } from '../../chain/tenant.js';
import type { ChainManager } from '../chains/manager.js';
import type { EventBus } from '../events.js';
import type { Demand, NodeRegistry } from '../nodes/registry.js';

export class Activator {
  /** chainId/stage being started now: later asks for it wait on that. */
  private readonly starting = new Map<string, Promise<void>>();
  private readonly onDemand = (d: Demand) => void this.activate(d);

  constructor(
    private readonly nodes: NodeRegistry,
    private readonly chains: ChainManager,
    private readonly events: EventBus,
    private readonly log: Logger,
  ) {
    nodes.fromNodes.on('demand', this.onDemand);
  }

  close(): void {
    this.nodes.fromNodes.off('demand', this.onDemand);
  }

  /** Give the stage of the demand one instance, unless it has some or is getting one. */
  activate(d: Demand): Promise<void> {
    const key = `${d.chainId}/${d.stage}`;
    const busy = this.starting.get(key);
    if (busy) return busy;
    const run = this.start(d).finally(() => this.starting.delete(key));
    this.starting.set(key, run);
    return run;
  }

  private async start(d: Demand): Promise<void> {
    const ref = this.nodes.chainOf(d.chainId);
    if (!ref) return; // deleted meanwhile: its gateway goes with it
    try {
      // Checked in turn with other changes: a scale-down to zero queued
      // before this one is done by then.
      await this.chains.scaleFromZero(ref, d.stage, `scale from zero: ${d.message} (node ${d.node})`);
    } catch (err) {
      // The gateways keep asking every second while they hold requests, and
      // answer 503 once their hold timeout passes: nothing is lost by
      // failing here, but people must see why.
      const message = `stage ${d.stageName} of chain ${formatChainRef(ref)} could not scale from zero: ${(err as Error).message}`;
      this.log.warn('scale from zero failed', { chain: formatChainRef(ref), stage: d.stageName, error: (err as Error).message });
      this.events.emit({ kind: 'autoscale-failed', chain: ref.name, tenant: ref.tenant, stage: d.stageName, node: d.node, message });
    }
  }
}
