/**
 * The chain lifecycle: apply (compile, place, deploy, remember), delete,
 * and reconcile after a restart so every stored chain runs again. Applies
 * and deletes are serialised: each reads and writes the whole id space.
 *
 * A stored chain follows its nodes: one renamed (the registry's resolve())
 * is rewritten to the new name; one gone (not registered at all) makes the
 * chain be placed again on the nodes there are. A chain that cannot be
 * restored keeps why (health()) until it runs again, and an event says it.
 *
 * Chains are named per tenant (chain/tenant.ts): every lookup takes the
 * tenant, and what a failed lookup lists is that tenant's chains only.
 * Chain and instance ids stay cluster-unique, so the data plane (pools,
 * routes, allow-lists, counters: all keyed by those ids) can never confuse
 * two tenants' chains of the same name.
 */
import { ChainSpecErrors } from '../../chain/errors.js';
import type { ChainIR } from '../../chain/ir.js';
import { DEFAULT_TENANT, formatChainRef, type ChainRef } from '../../chain/tenant.js';
import { compileChainText } from '../../chain/validate.js';
import type { Logger } from '../../log.js';
import type { EventBus } from '../events.js';
import type { PeerMesh } from '../nodes/peer-mesh.js';
import { hasPeerListener, type NodeRegistry } from '../nodes/registry.js';
import type { Scheduler } from '../placement/framework.js';
import type { Store } from '../store/store.js';
import type { BalanceSpec } from '../../balance/registry.js';
import { Deployer } from './deploy.js';
import { IdAllocator } from './ids.js';
import { CHAIN_PREFIX, chainKey, chainNodes, tenantPrefix, type ChainRecord, type PlacedInstance } from './record.js';

/** Why a request to the manager failed, for the API to map to a status. */
export type ChainErrorKind = 'invalid' | 'not-found' | 'conflict' | 'unplaceable' | 'unavailable' | 'forbidden';

export interface ApplyOptions {
  /** The tenant of a chain whose file names none (default: "default"). */
  tenant?: string;
  /** Called with the compiled chain before anything changes; throws to refuse it. */
  admit?: (ir: ChainIR) => void;
}

export class ChainError extends Error {
  constructor(
    readonly kind: ChainErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ChainError';
  }
}

/** Whether a stored chain is being, or could not be, brought back. */
export interface ChainHealth {
  state: 'RESTORING' | 'FAILED';
  reason: string;
}

export class ChainManager {
  private readonly deployer: Deployer;
  private queue: Promise<unknown> = Promise.resolve();
  /** Chains by id, for events that only carry the id. */
  private readonly names = new Map<number, ChainRef>();
  /** Keyed by chainKey(tenant, name). */
  private readonly healthByChain = new Map<string, ChainHealth>();

  constructor(
    private readonly store: Store,
    private readonly nodes: NodeRegistry,
    private readonly scheduler: Scheduler,
    private readonly events: EventBus,
    mesh: PeerMesh,
    private readonly log: Logger,
    /** The cluster's balance policy for stages whose YAML names none. */
    defaultBalance?: BalanceSpec,
  ) {
    this.deployer = new Deployer(nodes, mesh, log, defaultBalance);
    nodes.chainOf = (id) => this.names.get(id);
  }

  apply(yaml: string, file: string, opts: ApplyOptions = {}): Promise<ChainRecord> {
    return this.serial(() => this.applyNow(yaml, file, opts));
  }

  delete(ref: ChainRef): Promise<number> {
    return this.serial(async () => {
      const r = await this.get(ref);
      const stopped = await this.deployer.teardown(r);
      await this.store.delete(chainKey(r.tenant, r.name));
      this.names.delete(r.chainId);
      this.healthByChain.delete(chainKey(r.tenant, r.name));
      for (const i of r.instances) this.nodes.rates.forget(i.id);
      const name = formatChainRef(r);
      this.events.emit({ kind: 'chain-deleted', chain: r.name, tenant: r.tenant, message: `chain ${name} deleted (${stopped} instances stopped)` });
      return stopped;
    });
  }

  async get(ref: ChainRef): Promise<ChainRecord> {
    const r = await this.store.get<ChainRecord>(chainKey(ref.tenant, ref.name));
    if (!r) throw new ChainError('not-found', `no chain named "${ref.name}" in tenant ${ref.tenant}${await this.knownNames(ref.tenant)}`);
    return r;
  }

  /** Every tenant's chains, or one tenant's. */
  async list(tenant?: string): Promise<ChainRecord[]> {
    const records = (await this.store.list<ChainRecord>(tenant === undefined ? CHAIN_PREFIX : tenantPrefix(tenant))).map((e) => e.value);
    for (const r of records) this.names.set(r.chainId, { tenant: r.tenant, name: r.name });
    return records;
  }

  /** Records the previous version stored under /chains/NAME move to
   * /chains/TENANT/NAME (names were cluster-wide then, so none collide). */
  migrateKeys(): Promise<number> {
    return this.serial(async () => {
      let moved = 0;
      for (const { key, value } of await this.store.list<ChainRecord>(CHAIN_PREFIX)) {
        if (key.slice(CHAIN_PREFIX.length).includes('/')) continue;
        const tenant = value.tenant || DEFAULT_TENANT;
        await this.store.put(chainKey(tenant, value.name), { ...value, tenant });
        await this.store.delete(key);
        moved++;
        this.log.info('chain record moved under its tenant', { chain: value.name, tenant, from: key });
      }
      return moved;
    });
  }

  /** Why a stored chain does not run, when the control plane knows. */
  health(ref: ChainRef): ChainHealth | undefined {
    return this.healthByChain.get(chainKey(ref.tenant, ref.name));
  }

  /** Make every stored chain (or those on one node, and those that could
   * not be restored before) run: follow renamed nodes, place again what ran
   * on nodes that are gone, redeploy where instances are missing (e.g. the
   * node restarted), reprogram where they survived. */
  reconcile(node?: string): Promise<void> {
    return this.serial(async () => {
      for (const stored of await this.list()) {
        const key = chainKey(stored.tenant, stored.name);
        const failedBefore = this.healthByChain.get(key)?.state === 'FAILED';
        try {
          const r = await this.followRenames(stored);
          if (node && !chainNodes(r).includes(node) && !failedBefore) continue;
          this.healthByChain.set(key, { state: 'RESTORING', reason: 'the control plane is restoring it' });
          await this.restore(r);
          this.healthByChain.delete(key);
        } catch (err) {
          const reason = `could not be restored: ${(err as Error).message}`;
          this.healthByChain.set(key, { state: 'FAILED', reason });
          this.events.emit({ kind: 'chain-restore-failed', chain: stored.name, tenant: stored.tenant, message: `chain ${formatChainRef(stored)} ${reason}` });
          this.log.error('chain could not be restored; it stays stored and is retried when a node comes back, on the next start or apply', {
            chain: stored.name,
            tenant: stored.tenant,
            error: (err as Error).message,
          });
        }
      }
    });
  }

  private async restore(r: ChainRecord): Promise<void> {
    const gone: string[] = [];
    for (const n of chainNodes(r)) if (!(await this.nodes.known(n))) gone.push(n);
    if (gone.length) {
      await this.placeAgain(r, gone);
      return;
    }
    const missing = await this.deployer.missingInstances(r);
    if (missing.length === 0) {
      await this.deployer.program(r);
      this.log.info('chain still running; reprogrammed', { chain: r.name, tenant: r.tenant });
    } else {
      await this.deployer.teardown(r);
      await this.deployer.deploy(r);
      this.log.info('chain redeployed', { chain: r.name, tenant: r.tenant, restarted: missing.length });
    }
    this.events.emit({ kind: 'chain-applied', chain: r.name, tenant: r.tenant, message: `chain ${formatChainRef(r)} restored (generation ${r.generation})` });
  }

  /** The record with every renamed node under its new name (stored so). */
  private async followRenames(r: ChainRecord): Promise<ChainRecord> {
    const to = (node: string) => this.nodes.resolve(node);
    if (chainNodes(r).every((n) => to(n) === n)) return r;
    const moved: ChainRecord = {
      ...r,
      instances: r.instances.map((i) => ({ ...i, node: to(i.node) })),
      gateways: r.gateways.map((g) => ({ ...g, node: to(g.node) })),
    };
    await this.store.put(chainKey(r.tenant, r.name), moved);
    this.log.info('chain follows its renamed nodes', { chain: r.name, from: chainNodes(r), to: chainNodes(moved) });
    return moved;
  }

  /** Its nodes are gone: place it again (same chain id, new instance ids)
   * on the nodes there are, as an apply would. */
  private async placeAgain(r: ChainRecord, gone: string[]): Promise<void> {
    const others = (await this.list()).filter((o) => o.name !== r.name || o.tenant !== r.tenant);
    const ids = new IdAllocator(others);
    const instances = this.place(r.ir, ids, others);
    const placed: ChainRecord = { ...r, instances, gateways: this.gatewayNodes(instances).map((node) => ({ node, id: ids.take() })) };
    await this.deployer.teardown(r);
    await this.deployer.deploy(placed);
    await this.store.put(chainKey(r.tenant, r.name), placed);
    this.events.emit({
      kind: 'chain-replaced',
      chain: r.name,
      tenant: r.tenant,
      message: `chain ${r.name} placed again: node${gone.length > 1 ? 's' : ''} ${gone.join(', ')} ${gone.length > 1 ? 'are' : 'is'} gone; now ${instances.length} instances on ${chainNodes(placed).join(', ')}`,
    });
  }

  private async applyNow(yaml: string, file: string, opts: ApplyOptions): Promise<ChainRecord> {
    const ir = this.compile(yaml, file, opts.tenant);
    opts.admit?.(ir);
    const old = await this.store.get<ChainRecord>(chainKey(ir.tenant, ir.name));
    const others = (await this.list()).filter((r) => r.name !== ir.name || r.tenant !== ir.tenant);
    const ids = new IdAllocator(others);
    const instances = this.place(ir, ids, others);
    const gateways = this.gatewayNodes(instances).map((node) => ({ node, id: ids.take() }));
    const record: ChainRecord = {
      name: ir.name,
      tenant: ir.tenant,
      chainId: old?.chainId ?? (await this.store.increment('/counters/chain-id')),
      generation: (old?.generation ?? 0) + 1,
      yaml,
      file,
      appliedAtMs: Date.now(),
      ir,
      instances,
      gateways,
    };
    if (old) await this.deployer.teardown(old);
    this.names.set(record.chainId, { tenant: record.tenant, name: record.name });
    try {
      await this.deployer.deploy(record);
    } catch (err) {
      throw new ChainError('unavailable', `chain ${formatChainRef(ir)}: ${(err as Error).message}`);
    }
    await this.store.put(chainKey(record.tenant, record.name), record);
    this.healthByChain.delete(chainKey(record.tenant, record.name));
    this.events.emit({
      kind: 'chain-applied',
      chain: record.name,
      tenant: record.tenant,
      message: `chain ${formatChainRef(record)} generation ${record.generation}: ${instances.length} instances on ${chainNodes(record).join(', ')}`,
    });
    return record;
  }

  private compile(yaml: string, file: string, defaultTenant?: string): ChainIR {
    let irs: ChainIR[];
    try {
      irs = compileChainText(yaml, file, { nodeArchs: this.nodes.archs(), defaultTenant });
    } catch (err) {
      if (err instanceof ChainSpecErrors) throw err;
      throw new ChainError('invalid', `${file}: ${(err as Error).message}`);
    }
    if (irs.length !== 1) throw new ChainError('invalid', `${file}: holds ${irs.length} chains; apply one chain per file`);
    return irs[0]!;
  }

  /** Instances per stage: scale.min, at least one (scale from zero is not built yet). */
  private place(ir: ChainIR, ids: IdAllocator, others: ChainRecord[]): PlacedInstance[] {
    const nodes = this.nodes.views();
    if (nodes.length === 0) throw new ChainError('unavailable', 'no node is ready; start ferryd or check `ferry get nodes`');
    // Other chains' instances already take their share of each node.
    for (const r of others) {
      for (const i of r.instances) {
        const n = nodes.find((v) => v.name === i.node);
        const res = r.ir.stages[i.stage]?.resources;
        if (n && res) [n.usedCpuMilli, n.usedMemoryMb] = [n.usedCpuMilli + res.cpuMilli, n.usedMemoryMb + res.memoryMb];
      }
    }
    const replicas = new Map(ir.stages.map((s) => [s.id, Math.max(1, s.scale.min)]));
    let assignments;
    try {
      assignments = this.scheduler.place(ir, nodes, replicas);
    } catch (err) {
      throw new ChainError('unplaceable', `chain ${formatChainRef(ir)}: ${(err as Error).message}`);
    }
    return assignments.map((a) => ({ id: ids.take(), stage: a.stage, node: a.node, weight: 1 }));
  }

  /** A gateway on every node that runs part of the chain, and on every
   * node serving HTTP that can hand requests over to them: a request may
   * enter the chain at any node. */
  private gatewayNodes(instances: PlacedInstance[]): string[] {
    const running = new Set(instances.map((i) => i.node));
    const linkable = this.nodes.list().filter((n) => n.ready && hasPeerListener(n));
    if ([...running].every((name) => linkable.some((n) => n.name === name))) {
      for (const n of linkable) if (n.info.gatewayAddress !== '') running.add(n.name);
    }
    return [...running].sort();
  }

  /** The tenant's own chains only: a lookup never lists another tenant's. */
  private async knownNames(tenant: string): Promise<string> {
    const names = (await this.list(tenant)).map((r) => r.name);
    return names.length ? `; its chains: ${names.join(', ')}` : '; it has no chains';
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
