/**
 * Turning a placed chain into running instances: per node, the chain's pool,
 * its instances, then its routes, allow-list and gateway. Everything goes
 * through ferryd's gRPC API, so a remote node and the local one are driven
 * the same way.
 */
import type { BalanceSpec } from '../../balance/registry.js';
import { allowEdges, routeTables, type Placed } from '../../chain/routes.js';
import type { BalancePolicy } from '../../ferryd/proto.js';
import type { Logger } from '../../log.js';
import type { PeerMesh } from '../nodes/peer-mesh.js';
import type { NodeRegistry } from '../nodes/registry.js';
import { chainNodes, type ChainRecord } from './record.js';

/** Buffers of a request may outlive its timeout by this much (the
 * gateway's GRACE_MS): a reply racing the timeout is still freed by it. */
const LIFETIME_GRACE_MS = 1000;
/** How long a deployment waits for its instances to load their functions. */
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 50;

/** A stage's balance policy as ProgramChain carries it. */
export function balancePolicy(spec: BalanceSpec): BalancePolicy {
  const key = spec.key;
  return {
    name: spec.policy,
    params: { ...spec.params },
    keyHeader: key && 'header' in key ? key.header : '',
    keyField: key && 'field' in key ? key.field : '',
  };
}

export class Deployer {
  constructor(
    private readonly nodes: NodeRegistry,
    private readonly mesh: PeerMesh,
    private readonly log: Logger,
    /** The policy of stages whose YAML names none (absent: ferryd's own default). */
    private readonly defaultBalance?: BalanceSpec,
  ) {}

  /** Start the chain everywhere it is placed. On any failure, what was
   * started is torn down again and the error says which node refused. */
  async deploy(r: ChainRecord): Promise<void> {
    try {
      await this.linkNodes(r);
      for (const node of chainNodes(r)) await this.deployOn(r, node);
      await this.untilReady(r);
    } catch (err) {
      await this.teardown(r).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Wait until every instance of the chain said it is ready. An instance
   * that exits before it is ready (a module that throws as it loads, a
   * missing symbol) fails the deployment with its own error, instead of the
   * chain being reported running while it crash-loops.
   */
  private async untilReady(r: ChainRecord, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const waiting: string[] = [];
      for (const node of chainNodes(r)) {
        const n = this.nodes.require(node);
        const { instances } = await n.client.listInstances({ chainId: r.chainId });
        for (const st of instances) {
          if (!r.instances.some((i) => i.id === st.instanceId && i.node === node)) continue;
          if (st.ready) continue;
          if (st.state === 'CRASHED' || st.state === 'RESTARTING' || st.state === 'CRASH_LOOP')
            throw new Error(
              `stage ${st.stageName}: instance ${st.instanceId} on ${node} ${st.lastError || 'crashed'} — fix the function and apply again`,
            );
          waiting.push(`${st.stageName} (instance ${st.instanceId} on ${node}, ${st.state})`);
        }
      }
      if (waiting.length === 0) return;
      if (Date.now() >= deadline) throw new Error(`not ready after ${timeoutMs} ms: ${waiting.join(', ')}`);
      await new Promise((res) => setTimeout(res, READY_POLL_MS));
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
    await n.client.createPool({
      chainId: r.chainId,
      chainName: r.name,
      tenant: r.tenant,
      classes: (r.ir.sizeClasses ?? []).map((size) => ({ size, count: 0 })),
      quotaBytes: r.ir.poolBytes,
      maxBodyBytes: r.ir.maxBodyBytes,
      // A request landing from another node may live as long as a whole request.
      lifetimeMs: r.ir.timeoutMs + LIFETIME_GRACE_MS,
    });
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
      routes: routeTables(r.ir, placement, node).map((s) => {
        const balance = r.ir.stages[s.stage]?.balance ?? this.defaultBalance;
        return { stage: s.stage, targets: s.targets, balance: balance ? balancePolicy(balance) : null };
      }),
      allow: allowEdges(r.ir).map(([fromStage, toStage]) => ({ fromStage, toStage })),
      gateway: gateway
        ? {
            chainName: r.name,
            entryStage: r.ir.entry,
            maxBodyBytes: r.ir.maxBodyBytes,
            timeoutMs: r.ir.timeoutMs,
            bodyTimeoutMs: r.ir.bodyTimeoutMs,
            gatewayInstanceId: gateway.id,
          }
        : null,
      remoteGateways,
    });
  }
}
