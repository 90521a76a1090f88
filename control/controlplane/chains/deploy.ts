/**
 * Turning a placed chain into running instances: per node, the chain's pool,
 * its instances, then its routes, allow-list and gateway. Everything goes
 * through ferryd's gRPC API, so a remote node and the local one are driven
 * the same way. Besides whole deployments, the steps a change to a running
 * chain is made of (rollout.ts): start some instances, wait until they are
 * ready, program the routes, drain and stop some, leave a node.
 */
import type { BalanceSpec } from '../../balance/registry.js';
import type { AllowEdge, ChainIR } from '../../chain/ir.js';
import { allowEdges, routeTables, type Placed } from '../../chain/routes.js';
import type { BalancePolicy, InstanceEvent, RpcInput } from '../../ferryd/proto.js';
import type { Logger } from '../../log.js';
import type { PeerMesh } from '../nodes/peer-mesh.js';
import type { NodeRegistry } from '../nodes/registry.js';
import { jobConfig } from '../../fl/job/config.js';
import { chainNodes, stageOf, type ChainRecord, type PlacedInstance } from './record.js';

/** Buffers of a request may outlive its timeout by this much (the
 * gateway's GRACE_MS): a reply racing the timeout is still freed by it. */
const LIFETIME_GRACE_MS = 1000;
/** An aggregation job's accumulators and sealed models are held across
 * rounds, not for one request: the longest lifetime ferryd grants
 * (MAX_LIFETIME_MS), so the pool's reaper leaves them alone. */
const JOB_BUFFER_LIFETIME_MS = 3_600_000;
/** How long a deployment waits for its instances to load their functions. */
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 250;
/** ferryd's MAX_DRAIN_TIMEOUT_MS. */
const MAX_DRAIN_MS = 10 * 60_000;

/** The chain as routes see it: its stages, and while a roll is under way
 * the prior IRs' stages that still have instances (stages removed from the
 * end of the list), with the edges of every version allowed. */
function routedView(r: ChainRecord): { ir: ChainIR; allow: AllowEdge[] } {
  if (!r.prior?.length) return { ir: r.ir, allow: allowEdges(r.ir) };
  const leaving = [...new Set(r.instances.map((i) => i.stage))]
    .filter((id) => id >= r.ir.stages.length)
    .sort((a, b) => a - b)
    .map((id) => stageOf(r, id)!);
  const edges = new Map([r.ir, ...r.prior].flatMap(allowEdges).map((e) => [`${e[0]}/${e[1]}`, e]));
  return { ir: { ...r.ir, stages: [...r.ir.stages, ...leaving] }, allow: [...edges.values()] };
}

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
      await this.start(r, r.instances);
      for (const node of chainNodes(r)) await this.programOn(r, node);
      await this.untilReady(r, r.instances);
    } catch (err) {
      await this.teardown(r).catch(() => undefined);
      throw err;
    }
  }

  /** Start these instances of the chain (its pool first where there is
   * none yet). They are not routed to until ProgramChain names them. */
  async start(r: ChainRecord, instances: readonly PlacedInstance[]): Promise<void> {
    await this.linkNodes(r);
    for (const node of new Set(instances.map((i) => i.node))) {
      const n = this.nodes.require(node);
      await this.ensurePool(r, node);
      for (const inst of instances.filter((i) => i.node === node)) {
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
      this.log.info('instances started', { chain: r.name, node, instances: instances.filter((i) => i.node === node).map((i) => i.id) });
    }
  }

  /**
   * Wait until these instances said they are ready. One that exits before
   * it is ready (a module that throws as it loads, a missing symbol) fails
   * with its own error, instead of being reported running while it
   * crash-loops.
   */
  async untilReady(r: ChainRecord, instances: readonly PlacedInstance[], timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Looked at again as soon as one of them has news (a start from zero
    // waits on this), else every READY_POLL_MS.
    // News that came while a check ran cuts the next sleep short too.
    let news = false;
    let wake = () => undefined as void;
    const onEvent = (node: string, e: InstanceEvent) => {
      if (!instances.some((i) => i.id === e.instanceId && i.node === node)) return;
      news = true;
      wake();
    };
    const sleep = (ms: number) =>
      new Promise<void>((res) => {
        const done = () => {
          clearTimeout(t);
          wake = () => undefined;
          res();
        };
        const t = setTimeout(done, ms);
        wake = done;
        if (news) done();
        news = false;
      });
    this.nodes.fromNodes.on('instance', onEvent);
    try {
      await this.pollReady(r, instances, deadline, timeoutMs, sleep);
    } finally {
      this.nodes.fromNodes.off('instance', onEvent);
    }
  }

  private async pollReady(r: ChainRecord, instances: readonly PlacedInstance[], deadline: number, timeoutMs: number, sleep: (ms: number) => Promise<void>): Promise<void> {
    for (;;) {
      const waiting: string[] = [];
      for (const node of new Set(instances.map((i) => i.node))) {
        const n = this.nodes.require(node);
        const { instances: live } = await n.client.listInstances({ chainId: r.chainId });
        for (const st of live) {
          if (!instances.some((i) => i.id === st.instanceId && i.node === node)) continue;
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
      await sleep(READY_POLL_MS);
    }
  }

  /** Drain (ferryd takes each out of its routes and waits for what it
   * holds, up to the chain's timeout) and stop these instances, together.
   * Instances on nodes that are not ready are left to them. */
  async stop(r: ChainRecord, instances: readonly PlacedInstance[]): Promise<void> {
    const drainTimeoutMs = Math.min(MAX_DRAIN_MS, r.ir.timeoutMs + LIFETIME_GRACE_MS);
    await Promise.all(
      instances.map(async (i) => {
        const n = this.nodes.get(i.node);
        if (!n?.ready) {
          this.log.warn('node not ready; its instance is left to it', { chain: r.name, node: i.node, instance: i.id });
          return;
        }
        await n.client.stopInstance({ instanceId: i.id, drainTimeoutMs });
      }),
    );
    if (instances.length) this.log.info('instances drained and stopped', { chain: r.name, instances: instances.map((i) => i.id) });
  }

  /** Stop the chain on every node it ran on; nodes that are gone are skipped. */
  async teardown(r: ChainRecord): Promise<number> {
    let stopped = 0;
    for (const node of chainNodes(r)) stopped += await this.leave(r, node);
    return stopped;
  }

  /** The chain's whole part on one node: gateway, routes, instances, pool. */
  async leave(r: ChainRecord, node: string): Promise<number> {
    const n = this.nodes.get(node);
    if (!n?.ready) {
      this.log.warn('node not ready; its part of the chain is left to it', { chain: r.name, node });
      return 0;
    }
    return (await n.client.deleteChain({ chainId: r.chainId })).stoppedInstances;
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
  async program(r: ChainRecord, hold: readonly number[] = []): Promise<void> {
    await this.linkNodes(r);
    for (const node of chainNodes(r)) await this.programOn(r, node, hold);
  }

  /** What ProgramChain tells `node` about the chain. `hold`: stages the
   * gateways treat as scaled to zero though they still have instances
   * (they are about to go: new requests wait, those in flight finish). */
  programRequest(r: ChainRecord, node: string, hold: readonly number[] = []): RpcInput<'ProgramChain'> {
    const view = routedView(r);
    const placement = new Map<number, Placed[]>();
    for (const i of r.instances) placement.set(i.stage, [...(placement.get(i.stage) ?? []), { instance: i.id, node: i.node, weight: i.weight }]);
    const gateway = r.gateways.find((g) => g.node === node);
    // Replies for a gateway on another node leave through a proxy here.
    const remoteGateways = r.gateways.filter((g) => g.node !== node).map((g) => ({ instance: g.id, node: g.node }));
    return {
      chainId: r.chainId,
      routes: routeTables(view.ir, placement, node).map((s) => {
        const balance = stageOf(r, s.stage)?.balance ?? this.defaultBalance;
        return { stage: s.stage, targets: s.targets, balance: balance ? balancePolicy(balance) : null };
      }),
      allow: view.allow.map(([fromStage, toStage]) => ({ fromStage, toStage })),
      gateway: gateway
        ? {
            chainName: r.name,
            entryStage: r.ir.entry,
            maxBodyBytes: r.ir.maxBodyBytes,
            timeoutMs: r.ir.timeoutMs,
            bodyTimeoutMs: r.ir.bodyTimeoutMs,
            gatewayInstanceId: gateway.id,
            // Stages scaled to zero: the gateway holds their requests and asks for an instance.
            idle: r.ir.stages.filter((s) => hold.includes(s.id) || !r.instances.some((i) => i.stage === s.id)).map((s) => ({ stage: s.id, name: s.name })),
            holdRequests: r.ir.holdRequests ?? 0,
            holdTimeoutMs: r.ir.holdTimeoutMs ?? 0,
          }
        : null,
      remoteGateways,
      // An aggregation job's gateway serves /jobs/NAME with these rules; a
      // node without the job's gateway only runs aggregators.
      job: gateway && r.ir.job ? jobConfig(r.ir.job, r.instances, node) : null,
    };
  }

  /** A chain on several nodes needs their peer links configured before
   * routes can name remote instances. */
  private async linkNodes(r: ChainRecord): Promise<void> {
    if (chainNodes(r).length > 1) await this.mesh.sync();
  }

  /** CreatePool is idempotent: a node that has the pool keeps it. */
  private async ensurePool(r: ChainRecord, node: string): Promise<void> {
    await this.nodes.require(node).client.createPool({
      chainId: r.chainId,
      chainName: r.name,
      tenant: r.tenant,
      classes: (r.ir.sizeClasses ?? []).map((size) => ({ size, count: 0 })),
      quotaBytes: r.ir.poolBytes,
      maxBodyBytes: r.ir.maxBodyBytes,
      // A request landing from another node may live as long as a whole request.
      lifetimeMs: r.ir.job ? JOB_BUFFER_LIFETIME_MS : r.ir.timeoutMs + LIFETIME_GRACE_MS,
    });
  }

  private async programOn(r: ChainRecord, node: string, hold: readonly number[] = []): Promise<void> {
    // A gateway-only node gets the pool its gateway needs.
    if (!r.instances.some((i) => i.node === node)) await this.ensurePool(r, node);
    await this.nodes.require(node).client.programChain(this.programRequest(r, node, hold));
  }
}
