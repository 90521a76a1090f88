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
 * A re-apply changes only what differs, and scale and replace change one
 * stage or instance, all without failing a request (changes.ts, built on
 * rollout.ts); placement starts from what runs (placer.ts).
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
import type { NodeRegistry } from '../nodes/registry.js';
import type { Scheduler } from '../placement/framework.js';
import type { Store } from '../store/store.js';
import type { BalanceSpec } from '../../balance/registry.js';
import { ChainChanges, PartialChange } from './changes.js';
import { Deployer } from './deploy.js';
import { ChainError } from './errors.js';
import { IdAllocator } from './ids.js';
import { Placer } from './placer.js';
import { CHAIN_PREFIX, chainKey, chainNodes, tenantPrefix, type ChainRecord } from './record.js';
import { Rollout } from './rollout.js';
import { liveInstances } from './status.js';

export { ChainError, type ChainErrorKind } from './errors.js';

/** Where the search for a free instance id starts next (ids.ts). */
export const NEXT_INSTANCE_ID_KEY = '/counters/next-instance-id';

export interface ApplyOptions {
  /** The tenant of a chain whose file names none (default: "default"). */
  tenant?: string;
  /** Called with the compiled chain before anything changes; throws to refuse it. */
  admit?: (ir: ChainIR) => void;
}

/** Whether a stored chain is being, or could not be, brought back. */
export interface ChainHealth {
  state: 'RESTORING' | 'FAILED';
  reason: string;
}

export class ChainManager {
  private readonly deployer: Deployer;
  private readonly changes: ChainChanges;
  private queue: Promise<unknown> = Promise.resolve();
  /** Chains by id, for events that only carry the id. */
  private readonly names = new Map<number, ChainRef>();
  /** Keyed by chainKey(tenant, name). */
  private readonly healthByChain = new Map<string, ChainHealth>();
  /** Records of what else holds instance ids (aggregation jobs' internal
   * chains): ids are cluster-unique across all of them. */
  private otherIds: () => Promise<ChainRecord[]> = async () => [];

  constructor(
    private readonly store: Store,
    private readonly nodes: NodeRegistry,
    scheduler: Scheduler,
    private readonly events: EventBus,
    mesh: PeerMesh,
    private readonly log: Logger,
    /** The cluster's balance policy for stages whose YAML names none. */
    defaultBalance?: BalanceSpec,
  ) {
    this.deployer = new Deployer(nodes, mesh, log, defaultBalance);
    const rollout = new Rollout(this.deployer, nodes, log);
    this.changes = new ChainChanges(new Placer(nodes, scheduler), rollout, this.deployer, nodes, log);
    nodes.chainOf = (id) => this.names.get(id);
  }

  /** Run fn while no chain changes, with an id allocator that knows every
   * instance id in use (chains' and `otherIds`'), storing where the next
   * search starts afterwards: how aggregation jobs take ids. */
  exclusive<T>(fn: (ids: IdAllocator, chains: ChainRecord[]) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      const all = await this.list();
      const ids = new IdAllocator([...all, ...(await this.otherIds())], await this.store.get<number>(NEXT_INSTANCE_ID_KEY));
      try {
        return await fn(ids, all);
      } finally {
        await this.store.put(NEXT_INSTANCE_ID_KEY, ids.nextId);
      }
    });
  }

  /** Who else holds instance ids (set once, by the job manager). */
  shareIdsWith(records: () => Promise<ChainRecord[]>): void {
    this.otherIds = records;
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

  /** Give a stage n instances (within its scale.min..scale.max and the
   * nodes' room), without failing a request. The autoscaler's one way to
   * change a chain; `why` goes into the event. */
  scale(ref: ChainRef, stageName: string, n: number, why?: string): Promise<ChainRecord> {
    return this.serial(async () => this.scaleNow(await this.get(ref), stageName, n, why));
  }

  /** One instance for a stage that has none (scale from zero); a stage
   * that has some by the time this runs is left as it is. */
  scaleFromZero(ref: ChainRef, stage: number, why: string): Promise<ChainRecord> {
    return this.serial(async () => {
      const r = await this.get(ref);
      const s = r.ir.stages[stage];
      if (!s || r.instances.some((i) => i.stage === stage)) return r;
      return this.scaleNow(r, s.name, 1, why);
    });
  }

  private async scaleNow(r: ChainRecord, stageName: string, n: number, why?: string): Promise<ChainRecord> {
    const live = await liveInstances(r, this.nodes);
    const after = await this.changing(r, (others, ids) => this.changes.scale(r, stageName, n, others, ids, (id) => live.get(id)?.ready ?? false));
    if (after === r) return r;
    const id = r.ir.stages.find((s) => s.name === stageName)!.id;
    const before = r.instances.filter((i) => i.stage === id);
    const now = after.instances.filter((i) => i.stage === id);
    const started = now.filter((i) => !before.some((b) => b.id === i.id));
    const stopped = before.filter((b) => !now.some((i) => i.id === b.id));
    const list = (xs: typeof now) => xs.map((i) => `${i.id}@${i.node}`).join(', ');
    this.events.emit({
      kind: 'scaled',
      chain: r.name,
      tenant: r.tenant,
      stage: stageName,
      message:
        `stage ${stageName} of chain ${formatChainRef(r)} scaled ${before.length} -> ${now.length}` +
        (started.length ? `: started ${list(started)}` : '') +
        (stopped.length ? `: drained and stopped ${list(stopped)}` : '') +
        (why ? ` (${why})` : ''),
    });
    return after;
  }

  /** A new instance in place of one (started, ready, routed, then the old
   * one drained and stopped), e.g. to move it or restart it cleanly. */
  replace(ref: ChainRef, instanceId: number): Promise<ChainRecord> {
    return this.serial(async () => {
      const r = await this.get(ref);
      let replacement = { id: 0, node: '' };
      const after = await this.changing(r, async (others, ids) => {
        const out = await this.changes.replace(r, instanceId, others, ids);
        replacement = out.replacement;
        return out.record;
      });
      const old = r.instances.find((i) => i.id === instanceId)!;
      const stage = r.ir.stages[old.stage]?.name;
      this.events.emit({
        kind: 'instance-replaced',
        chain: r.name,
        tenant: r.tenant,
        stage,
        node: replacement.node,
        instance: instanceId,
        message: `instance ${instanceId}@${old.node} (stage ${stage}) of chain ${formatChainRef(r)} replaced by ${replacement.id}@${replacement.node}`,
      });
      return after;
    });
  }

  async get(ref: ChainRef): Promise<ChainRecord> {
    const r = await this.store.get<ChainRecord>(chainKey(ref.tenant, ref.name));
    if (!r) throw new ChainError('not-found', `no chain named "${ref.name}" in tenant ${ref.tenant}${await this.knownNames(ref.tenant)}`);
    return r;
  }

  /** get without the copy, for callers that only read: the stored record
   * itself, frozen (a write to it throws). */
  async peek(ref: ChainRef): Promise<Readonly<ChainRecord>> {
    const r = await this.store.peek<ChainRecord>(chainKey(ref.tenant, ref.name));
    if (!r) throw new ChainError('not-found', `no chain named "${ref.name}" in tenant ${ref.tenant}${await this.knownNames(ref.tenant)}`);
    return r;
  }

  /** Every tenant's chains, or one tenant's. */
  async list(tenant?: string): Promise<ChainRecord[]> {
    const records = (await this.store.list<ChainRecord>(tenant === undefined ? CHAIN_PREFIX : tenantPrefix(tenant))).map((e) => e.value);
    for (const r of records) this.names.set(r.chainId, { tenant: r.tenant, name: r.name });
    return records;
  }

  /** list without the copies, for callers that only read (see peek). */
  async peekList(tenant?: string): Promise<Readonly<ChainRecord>[]> {
    const records = (await this.store.peekList<ChainRecord>(tenant === undefined ? CHAIN_PREFIX : tenantPrefix(tenant))).map((e) => e.value);
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
      await this.changing(r, () => this.changes.redeploy(r));
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
    const placed = await this.changing(r, async (others, ids) => {
      await this.deployer.teardown(r);
      return this.changes.create({ ...r, instances: [], gateways: [], prior: undefined }, others, ids);
    });
    this.events.emit({
      kind: 'chain-replaced',
      chain: r.name,
      tenant: r.tenant,
      message: `chain ${r.name} placed again: node${gone.length > 1 ? 's' : ''} ${gone.join(', ')} ${gone.length > 1 ? 'are' : 'is'} gone; now ${placed.instances.length} instances on ${chainNodes(placed).join(', ')}`,
    });
  }

  private async applyNow(yaml: string, file: string, opts: ApplyOptions): Promise<ChainRecord> {
    const ir = this.compile(yaml, file, opts.tenant);
    opts.admit?.(ir);
    const old = await this.store.get<ChainRecord>(chainKey(ir.tenant, ir.name));
    const next: ChainRecord = {
      name: ir.name,
      tenant: ir.tenant,
      chainId: old?.chainId ?? (await this.store.increment('/counters/chain-id')),
      generation: (old?.generation ?? 0) + 1,
      yaml,
      file,
      appliedAtMs: Date.now(),
      ir,
      instances: old?.instances ?? [],
      gateways: old?.gateways ?? [],
      prior: old?.prior,
    };
    this.names.set(next.chainId, { tenant: next.tenant, name: next.name });
    let changes: string[] = [];
    const record = await this.changing(old ?? next, async (others, ids) => {
      if (!old) return this.changes.create(next, others, ids);
      const out = await this.changes.reapply(old, next, others, ids);
      changes = out.changes;
      return out.record;
    });
    this.healthByChain.delete(chainKey(record.tenant, record.name));
    const what = !old
      ? `${record.instances.length} instances on ${chainNodes(record).join(', ')}`
      : changes.length
        ? changes.join('; ')
        : `unchanged, its ${record.instances.length} instances kept`;
    this.events.emit({ kind: 'chain-applied', chain: record.name, tenant: record.tenant, message: `chain ${formatChainRef(record)} generation ${record.generation}: ${what}` });
    return record;
  }

  /**
   * Run a change of chain r given the other chains and an id allocator
   * that knows every id in use, and store the chain as it runs afterwards,
   * also when the change stopped part-way. Failures become ChainErrors.
   */
  private async changing(r: ChainRecord, change: (others: ChainRecord[], ids: IdAllocator) => Promise<ChainRecord>): Promise<ChainRecord> {
    const all = await this.list();
    const jobs = await this.otherIds();
    // Jobs' aggregators take room on the nodes too.
    const others = [...all.filter((o) => o.name !== r.name || o.tenant !== r.tenant), ...jobs];
    const ids = new IdAllocator([...all, ...jobs], await this.store.get<number>(NEXT_INSTANCE_ID_KEY));
    let after: ChainRecord;
    try {
      after = await change(others, ids);
    } catch (err) {
      if (err instanceof PartialChange) await this.store.put(chainKey(err.record.tenant, err.record.name), err.record);
      if (err instanceof ChainError || err instanceof ChainSpecErrors) throw err;
      throw new ChainError('unavailable', `chain ${formatChainRef(r)}: ${(err as Error).message}`);
    } finally {
      await this.store.put(NEXT_INSTANCE_ID_KEY, ids.nextId);
    }
    if (after !== r) await this.store.put(chainKey(after.tenant, after.name), after);
    // Ids of stopped instances may be handed out again: their rates go with them.
    for (const i of r.instances) if (!after.instances.some((a) => a.id === i.id)) this.nodes.rates.forget(i.id);
    return after;
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
