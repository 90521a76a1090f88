/**
 * The operations on a running chain, each made of rollout steps so that no
 * request fails: scale a stage, replace an instance, and re-apply a chain
 * changing only what differs (plan.ts). Each takes the chain as stored and
 * returns it as it runs afterwards; the manager stores it and says so.
 *
 * A re-apply starts everything new first, unrouted: one instance of each
 * stage that rolls (a canary), and the instances of stages added. A new
 * version that cannot load fails there, with its own error, and nothing
 * the chain runs has changed. Then the canaries and new stages are routed
 * and the instances they replace drained, the other instances of a rolling
 * stage are replaced one by one, removed stages drained last, and finally
 * the routes and allow-list are those of the new version alone.
 */
import type { StageIR } from '../../chain/ir.js';
import { formatChainRef } from '../../chain/tenant.js';
import type { Logger } from '../../log.js';
import type { Deployer } from './deploy.js';
import { ChainError } from './errors.js';
import { gatewaysFor } from './gateways.js';
import type { IdAllocator } from './ids.js';
import { initialCount, pickToRemove, planApply } from './plan.js';
import type { Placer, Running } from './placer.js';
import { chainNodes, type ChainRecord, type PlacedInstance } from './record.js';
import type { Rollout } from './rollout.js';
import { stageVersion, stageVersions } from './versions.js';
import type { NodeRegistry } from '../nodes/registry.js';

/** A change that failed after part of it was made: `record` is the chain
 * as it runs now, for the manager to keep. */
export class PartialChange extends ChainError {
  constructor(
    message: string,
    readonly record: ChainRecord,
  ) {
    super('unavailable', message);
    this.name = 'PartialChange';
  }
}

export interface ApplyOutcome {
  record: ChainRecord;
  /** What changed, for people. */
  changes: string[];
}

const ids = (xs: readonly PlacedInstance[]) => xs.map((i) => i.id).join(', ');

export class ChainChanges {
  constructor(
    private readonly placer: Placer,
    private readonly rollout: Rollout,
    private readonly deployer: Deployer,
    private readonly nodes: NodeRegistry,
    private readonly log: Logger,
  ) {}

  /** Place and start a chain that runs nowhere yet. */
  async create(r: ChainRecord, others: readonly Running[], alloc: IdAllocator): Promise<ChainRecord> {
    const instances = this.placer.place(r.ir, new Map(r.ir.stages.map((s) => [s.id, initialCount(s)])), { ...r, instances: [], prior: undefined }, others, alloc, versionsOf(r));
    const placed: ChainRecord = { ...r, instances, prior: undefined, gateways: gatewaysFor(this.nodes, instances, [], alloc) };
    await this.deployer.deploy(placed);
    return placed;
  }

  /** Start a stored chain again from scratch (its instances were lost):
   * every instance from the current IR, handler files as they are now;
   * instances of stages a stopped roll left behind are dropped. */
  async redeploy(r: ChainRecord): Promise<ChainRecord> {
    const versions = versionsOf(r);
    const fresh: ChainRecord = {
      ...r,
      prior: undefined,
      instances: r.instances.filter((i) => versions.has(i.stage)).map((i) => ({ ...i, version: versions.get(i.stage) })),
    };
    await this.deployer.teardown(r);
    await this.deployer.deploy(fresh);
    return fresh;
  }

  /** Give a stage n instances: new ones started, ready, then routed; or
   * surplus ones out of the routes, drained, stopped. */
  async scale(r: ChainRecord, stageName: string, n: number, others: readonly Running[], alloc: IdAllocator, ready: (id: number) => boolean): Promise<ChainRecord> {
    const stage = r.ir.stages.find((s) => s.name === stageName);
    if (!stage) throw new ChainError('not-found', `chain ${formatChainRef(r)} has no stage "${stageName}"; its stages: ${r.ir.stages.map((s) => s.name).join(', ')}`);
    if (!Number.isInteger(n) || n < 0) throw new ChainError('invalid', `instances: ${n} is not a whole number of instances`);
    const field = (f: string) => `spec.functions[${stage.id}].scale.${f} in ${r.file}`;
    if (n > stage.scale.max)
      throw new ChainError('invalid', `stage ${stage.name}: ${n} instances is more than its scale.max ${stage.scale.max}; raise ${field('max')} and apply it first`);
    if (n < stage.scale.min)
      throw new ChainError('invalid', `stage ${stage.name}: ${n} instances is fewer than its scale.min ${stage.scale.min}; lower ${field('min')} and apply it first`);
    const mine = r.instances.filter((i) => i.stage === stage.id);
    if (n === mine.length) return r;
    if (n > mine.length) {
      const add = this.placer.place(r.ir, new Map([[stage.id, n - mine.length]]), r, others, alloc, versionOfStage(r, stage));
      return this.rollout.change(r, { add }, alloc);
    }
    // Instances that are not ready (crashed, starting) go first.
    const surplus = pickToRemove(mine, mine.length - n, (i) => ready(i.id));
    return this.rollout.change(r, { remove: surplus.map((i) => i.id) }, alloc);
  }

  /** A new instance of the same stage (placed afresh, in the old one's
   * stead), ready and routed before the old one is drained and stopped. */
  async replace(r: ChainRecord, instanceId: number, others: readonly Running[], alloc: IdAllocator): Promise<{ record: ChainRecord; replacement: PlacedInstance }> {
    const old = r.instances.find((i) => i.id === instanceId);
    if (!old) throw new ChainError('not-found', `chain ${formatChainRef(r)} has no instance ${instanceId}; its instances: ${ids(r.instances)}`);
    const stage = r.ir.stages[old.stage];
    if (!stage) throw new ChainError('invalid', `instance ${instanceId} serves a stage the chain no longer has; apply the chain again to finish its roll`);
    const staying = { ...r, instances: r.instances.filter((i) => i !== old) };
    const [replacement] = this.placer.place(r.ir, new Map([[stage.id, 1]]), staying, others, alloc, versionOfStage(r, stage));
    const record = await this.rollout.change(r, { add: [replacement!], remove: [old.id] }, alloc);
    return { record, replacement: replacement! };
  }

  /** `next` is the new version (new IR, generation, source) of the chain
   * `old` is; its instances are those of old until changed. */
  async reapply(old: ChainRecord, next: ChainRecord, others: readonly Running[], alloc: IdAllocator): Promise<ApplyOutcome> {
    const versions = versionsOf(next);
    const plan = planApply(old, next.ir, versions);
    if (plan.kind === 'redeploy') {
      this.log.warn('chain redeployed: requests in flight may fail', { chain: next.name, tenant: next.tenant, reason: plan.reason });
      await this.deployer.teardown(old);
      const record = await this.create(next, others, alloc);
      return { record, changes: [`redeployed: ${plan.reason}`] };
    }
    const moving = new Set([...plan.roll, ...plan.remove].map((i) => i.id));
    const kept = old.instances.map((i) => (moving.has(i.id) ? i : { ...i, version: versions.get(i.stage) }));
    let live: ChainRecord = { ...next, instances: kept, gateways: old.gateways, prior: [old.ir, ...(old.prior ?? [])] };
    if (plan.roll.length === 0 && plan.add.size === 0 && plan.remove.length === 0) {
      live = { ...live, prior: undefined };
      await this.reprogramIfChanged(old, live);
      return { record: live, changes: plan.changes };
    }
    const leaving = new Set(plan.remove.map((i) => i.id));
    const staying = (r: ChainRecord, without: readonly PlacedInstance[]) => ({ ...r, instances: r.instances.filter((i) => !leaving.has(i.id) && !without.includes(i)) });
    // Canaries (the first instance of each rolling stage) and new stages, unrouted.
    const canaries = [...new Map(plan.roll.map((i) => [i.stage, i])).values()];
    const wanted = new Map(plan.add);
    for (const c of canaries) wanted.set(c.stage, (wanted.get(c.stage) ?? 0) + 1);
    const first = this.placer.place(next.ir, wanted, staying(live, canaries), others, alloc, versions);
    try {
      await this.rollout.prepare(live, first);
    } catch (err) {
      throw new ChainError('unavailable', `chain ${formatChainRef(next)}: ${(err as Error).message}; the running version keeps serving`);
    }
    live = await this.rollout.commit(live, { add: first, remove: canaries.map((c) => c.id) }, alloc);
    try {
      for (const i of plan.roll.filter((x) => !canaries.includes(x))) {
        const [replacement] = this.placer.place(next.ir, new Map([[i.stage, 1]]), staying(live, [i]), others, alloc, versions);
        live = await this.rollout.change(live, { add: [replacement!], remove: [i.id] }, alloc);
      }
      live = await this.rollout.change(live, { remove: plan.remove.map((i) => i.id) }, alloc);
    } catch (err) {
      throw new PartialChange(
        `chain ${formatChainRef(next)}: the roll stopped part-way: ${(err as Error).message}; instances not rolled keep the previous version (ferry get chain ${next.name} shows each one's); apply again to finish`,
        live,
      );
    }
    live = { ...live, prior: undefined };
    await this.deployer.program(live);
    return { record: live, changes: plan.changes };
  }

  /** An unchanged chain keeps even its routes unless they must change
   * (entry, timeouts, nodes joined since). */
  private async reprogramIfChanged(old: ChainRecord, live: ChainRecord): Promise<void> {
    const same = chainNodes(live).every((n) => JSON.stringify(this.deployer.programRequest(old, n)) === JSON.stringify(this.deployer.programRequest(live, n)));
    if (!same) await this.deployer.program(live);
  }
}

/** A handler file that cannot be read is the chain's problem, not the cluster's. */
function readable<T>(r: ChainRecord, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new ChainError('invalid', `${r.file}: ${(err as Error).message}`);
  }
}

const versionsOf = (r: ChainRecord) => readable(r, () => stageVersions(r.ir));
const versionOfStage = (r: ChainRecord, s: StageIR) => readable(r, () => new Map([[s.id, stageVersion(s)]]));
