/**
 * Turning a placed chain into running instances: per node, the chain's pool,
 * its instances, then its routes, allow-list and gateway. Everything goes
 * through ferryd's gRPC API, so a remote node and the local one are driven
 * the same way.
 */
import { allowEdges, routeTables, type Placed } from '../../chain/routes.js';
import type { Logger } from '../../log.js';
import type { PeerMesh } from '../nodes/peer-mesh.js';
import type { NodeRegistry } from '../nodes/registry.js';
import { chainNodes, type ChainRecord } from './record.js';

export class Deployer {
  constructor(
    private readonly nodes: NodeRegistry,
    private readonly mesh: PeerMesh,
    private readonly log: Logger,
  ) {}

  /** Start the chain everywhere it is placed. On any failure, what was
   * started is torn down again and the error says which node refused. */
  async deploy(r: ChainRecord): Promise<void> {
    try {
      await this.linkNodes(r);
      for (const node of chainNodes(r)) await this.deployOn(r, node);
    } catch (err) {
      await this.teardown(r).catch(() => undefined);
      throw err;
    }
  }

  /** Stop the chain on every node it ran on; nodes that are gone are skipped. */
  async teardown(r: ChainRecord): Promise<number> {
    let stopped = 0;
    for (const node of chainNodes(r)) {
      const n = this.nodes.get(node);
      if (!n?.ready) {
        this.log.warn('node not ready; its part of the chain is left to it', { chain: r.name, node });
        continue;
      }
      stopped += (await n.client.deleteChain({ chainId: r.chainId })).stoppedInstances;
    }
    return stopped;
  }

  /** Which of the record's instances are running where they should. */
  async missingInstances(r: ChainRecord): Promise<number[]> {
    const missing: number[] = [];
    for (const node of chainNodes(r)) {
      const n = this.nodes.require(node);
      const live = new Set((await n.client.listInstances({ chainId: r.chainId })).instances.map((i: { instanceId: number }) => i.instanceId));
      for (const i of r.instances) if (i.node === node && !live.has(i.id)) missing.push(i.id);
    }
    return missing;
  }

  /** Rewrite routes, allow-lists and gateways only (instances untouched). */
  async program(r: ChainRecord): Promise<void> {
    await this.linkNodes(r);
    for (const node of chainNodes(r)) await this.programOn(r, node);
  }

  /** A chain on several nodes needs their peer links configured before
   * routes can name remote instances. */
  private async linkNodes(r: ChainRecord): Promise<void> {
    if (chainNodes(r).length > 1) await this.mesh.sync();
  }

  private async deployOn(r: ChainRecord, node: string): Promise<void> {
    const n = this.nodes.require(node);
    await n.client.createPool({ chainId: r.chainId, chainName: r.name, tenant: r.tenant, classes: [] });
    for (const inst of r.instances.filter((i) => i.node === node)) {
      const stage = r.ir.stages[inst.stage]!;
      await n.client.startInstance({
        chainId: r.chainId,
        instanceId: inst.id,
        stage: stage.id,
        stageName: stage.name,
        runtime: stage.runtime,
        handler: stage.handler,
        next: stage.next,
        // ferryd sets FERRY_NODE, FERRY_CHAIN and FERRY_TENANT itself.
        env: {},
        restart: 'RESTART_ALWAYS',
        tenant: r.tenant,
        resources: stage.resources,
      });
    }
    await this.programOn(r, node);
    this.log.info('chain deployed on node', { chain: r.name, node, instances: r.instances.filter((i) => i.node === node).map((i) => i.id) });
  }

  private async programOn(r: ChainRecord, node: string): Promise<void> {
    const n = this.nodes.require(node);
    const placement = new Map<number, Placed[]>();
    for (const i of r.instances) placement.set(i.stage, [...(placement.get(i.stage) ?? []), { instance: i.id, node: i.node, weight: i.weight }]);
    const gateway = r.gateways.find((g) => g.node === node);
    // Replies for a gateway on another node leave through a proxy here.
    const remoteGateways = r.gateways.filter((g) => g.node !== node).map((g) => ({ instance: g.id, node: g.node }));
    await n.client.programChain({
      chainId: r.chainId,
      routes: routeTables(r.ir, placement, node).map((s) => ({ stage: s.stage, targets: s.targets })),
      allow: allowEdges(r.ir).map(([fromStage, toStage]) => ({ fromStage, toStage })),
      gateway: gateway
        ? { chainName: r.name, entryStage: r.ir.entry, maxBodyBytes: r.ir.maxBodyBytes, timeoutMs: r.ir.timeoutMs, gatewayInstanceId: gateway.id }
        : null,
      remoteGateways,
    });
  }
}
