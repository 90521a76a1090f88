/**
 * The chain lifecycle: apply (compile, place, deploy, remember), delete,
 * and reconcile after a restart so every stored chain runs again. Applies
 * and deletes are serialised: each reads and writes the whole id space.
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

export class ChainManager {
  private readonly deployer: Deployer;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly nodes: NodeRegistry,
    private readonly scheduler: Scheduler,
    private readonly events: EventBus,
    mesh: PeerMesh,
    private readonly log: Logger,
  ) {
    this.deployer = new Deployer(nodes, mesh, log);
  }

  apply(yaml: string, file: string, opts: ApplyOptions = {}): Promise<ChainRecord> {
    return this.serial(() => this.applyNow(yaml, file, opts));
  }

  delete(ref: ChainRef): Promise<number> {
    return this.serial(async () => {
      const r = await this.get(ref);
      const stopped = await this.deployer.teardown(r);
      await this.store.delete(chainKey(r.tenant, r.name));
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
    return (await this.store.list<ChainRecord>(tenant === undefined ? CHAIN_PREFIX : tenantPrefix(tenant))).map((e) => e.value);
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

  /** Make every stored chain (or those on one node) run: redeploy where
   * instances are missing (e.g. the node restarted), reprogram where they
   * survived. */
  reconcile(node?: string): Promise<void> {
    return this.serial(async () => {
      for (const r of await this.list()) {
        if (node && !chainNodes(r).includes(node)) continue;
        try {
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
        } catch (err) {
          this.log.error('chain could not be restored; it stays stored and is retried on the next start or apply', {
            chain: r.name,
            tenant: r.tenant,
            error: (err as Error).message,
          });
        }
      }
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
    try {
      await this.deployer.deploy(record);
    } catch (err) {
      throw new ChainError('unavailable', `chain ${formatChainRef(ir)}: ${(err as Error).message}`);
    }
    await this.store.put(chainKey(record.tenant, record.name), record);
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
