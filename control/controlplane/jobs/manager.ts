/**
 * The aggregation-job lifecycle: apply (compile, place the aggregators,
 * deploy, remember), get, list, delete, and reconcile after a restart or
 * when a node comes back. A job runs as an internal chain (record.ts), so
 * this drives the chains' Deployer and Placer and the scheduler's plugins
 * (AggregatorNodes, AggregatorPacking) rather than a copy of them, and
 * takes instance ids under the chain manager's lock (ids are unique across
 * chains and jobs).
 *
 * A re-apply whose aggregator tree and pool are unchanged keeps the
 * aggregators warm: only ProgramChain runs again with the new round rules.
 * One that changes them deploys the job again under the same chain id.
 */
import { ChainSpecErrors } from '../../chain/errors.js';
import { compileSpecText } from '../../chain/kinds.js';
import { formatChainRef, type ChainRef } from '../../chain/tenant.js';
import { homeNode } from '../../fl/job/config.js';
import type { Logger } from '../../log.js';
import { Deployer } from '../chains/deploy.js';
import { ChainError } from '../chains/errors.js';
import { gatewaysFor } from '../chains/gateways.js';
import type { IdAllocator } from '../chains/ids.js';
import type { ChainManager, ChainHealth } from '../chains/manager.js';
import { Placer } from '../chains/placer.js';
import { chainNodes, type ChainRecord } from '../chains/record.js';
import type { EventBus } from '../events.js';
import type { PeerMesh } from '../nodes/peer-mesh.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { Scheduler } from '../placement/framework.js';
import type { Store } from '../store/store.js';
import { JOB_PREFIX, jobKey, jobTenantPrefix, treeOf, type JobRecord } from './record.js';
import { RoundWatcher } from './rounds.js';

export interface ApplyJobOptions {
  /** The tenant of a job whose file names none (default: "default"). */
  tenant?: string;
  /** Called with the job's name and tenant before anything changes; throws to refuse it. */
  admit?: (job: ChainRef) => void;
}

export class JobManager {
  private readonly deployer: Deployer;
  private readonly placer: Placer;
  /** Jobs by chain id, for instance events that only carry the id. */
  private readonly names = new Map<number, ChainRef>();
  private readonly healthByJob = new Map<string, ChainHealth>();
  private readonly rounds: RoundWatcher;

  constructor(
    private readonly store: Store,
    private readonly nodes: NodeRegistry,
    scheduler: Scheduler,
    private readonly events: EventBus,
    mesh: PeerMesh,
    private readonly chains: ChainManager,
    private readonly log: Logger,
  ) {
    this.deployer = new Deployer(nodes, mesh, log);
    this.placer = new Placer(nodes, scheduler);
    this.rounds = new RoundWatcher(nodes, events);
    chains.shareIdsWith(() => this.list());
    const chainOf = nodes.chainOf;
    nodes.chainOf = (id) => chainOf(id) ?? this.names.get(id);
  }

  apply(yaml: string, file: string, opts: ApplyJobOptions = {}): Promise<JobRecord> {
    return this.watching(this.chains.exclusive((ids, chainRecords) => this.applyNow(yaml, file, opts, ids, chainRecords)));
  }

  close(): void {
    this.rounds.close();
  }

  /** After a change: the round watcher follows the jobs stored now. */
  private async watching<T>(change: Promise<T>): Promise<T> {
    try {
      return await change;
    } finally {
      this.rounds.track(await this.list().catch(() => []));
    }
  }

  delete(ref: ChainRef): Promise<number> {
    return this.watching(this.chains.exclusive(async () => {
      const r = await this.get(ref);
      const stopped = await this.deployer.teardown(r);
      await this.store.delete(jobKey(r.tenant, r.name));
      this.names.delete(r.chainId);
      this.healthByJob.delete(jobKey(r.tenant, r.name));
      this.events.emit({ kind: 'job-deleted', chain: r.name, tenant: r.tenant, message: `job ${formatChainRef(r)} deleted (${stopped} aggregators stopped)` });
      return stopped;
    }));
  }

  async get(ref: ChainRef): Promise<JobRecord> {
    const r = await this.store.get<JobRecord>(jobKey(ref.tenant, ref.name));
    if (!r) {
      const names = (await this.list(ref.tenant)).map((j) => j.name);
      throw new ChainError('not-found', `no job named "${ref.name}" in tenant ${ref.tenant}${names.length ? `; its jobs: ${names.join(', ')}` : '; it has no jobs'}`);
    }
    return r;
  }

  /** Every tenant's jobs, or one tenant's. */
  async list(tenant?: string): Promise<JobRecord[]> {
    const records = (await this.store.list<JobRecord>(tenant === undefined ? JOB_PREFIX : jobTenantPrefix(tenant))).map((e) => e.value);
    for (const r of records) this.names.set(r.chainId, { tenant: r.tenant, name: r.name });
    return records;
  }

  /** Why a stored job does not run, when the control plane knows. */
  health(ref: ChainRef): ChainHealth | undefined {
    return this.healthByJob.get(jobKey(ref.tenant, ref.name));
  }

  /** Make every stored job (or those on one node) run: reprogram where its
   * aggregators survived, start the missing ones, place it again when a
   * node it ran on is gone. */
  reconcile(node?: string): Promise<void> {
    return this.watching(this.chains.exclusive(async (ids, chainRecords) => {
      for (const r of await this.list()) {
        const key = jobKey(r.tenant, r.name);
        if (node && !chainNodes(r).includes(node) && this.healthByJob.get(key)?.state !== 'FAILED') continue;
        try {
          this.healthByJob.set(key, { state: 'RESTORING', reason: 'the control plane is restoring it' });
          await this.restore(r, ids, chainRecords);
          this.healthByJob.delete(key);
        } catch (err) {
          const reason = `could not be restored: ${(err as Error).message}`;
          this.healthByJob.set(key, { state: 'FAILED', reason });
          this.events.emit({ kind: 'job-restore-failed', chain: r.name, tenant: r.tenant, message: `job ${formatChainRef(r)} ${reason}` });
          this.log.error('job could not be restored; retried when a node comes back, on the next start or apply', { job: r.name, tenant: r.tenant, error: (err as Error).message });
        }
      }
    }));
  }

  private async restore(r: JobRecord, ids: IdAllocator, chainRecords: ChainRecord[]): Promise<void> {
    const gone: string[] = [];
    for (const n of chainNodes(r)) if (!(await this.nodes.known(n))) gone.push(n);
    let what: string;
    if (gone.length) {
      await this.deployer.teardown(r).catch(() => undefined);
      const placed = await this.place(r, ids, chainRecords);
      await this.deployer.deploy(placed);
      await this.store.put(jobKey(r.tenant, r.name), placed);
      what = `placed again (${gone.join(', ')} gone): ${describePlacement(placed)}`;
    } else {
      const missing = new Set(await this.deployer.missingInstances(r));
      if (missing.size) {
        const start = r.instances.filter((i) => missing.has(i.id));
        await this.deployer.start(r, start);
        await this.deployer.program(r);
        await this.deployer.untilReady(r, start);
        what = `restarted ${missing.size} aggregator${missing.size > 1 ? 's' : ''}`;
      } else {
        await this.deployer.program(r);
        what = 'still running; reprogrammed';
      }
    }
    this.log.info('job restored', { job: r.name, tenant: r.tenant, what });
    this.events.emit({ kind: 'job-applied', chain: r.name, tenant: r.tenant, message: `job ${formatChainRef(r)} restored (generation ${r.generation}): ${what}` });
  }

  private async applyNow(yaml: string, file: string, opts: ApplyJobOptions, ids: IdAllocator, chainRecords: ChainRecord[]): Promise<JobRecord> {
    const ir = this.compile(yaml, file, opts.tenant);
    opts.admit?.(ir);
    const key = jobKey(ir.tenant, ir.name);
    const old = await this.store.get<JobRecord>(key);
    const next: JobRecord = {
      name: ir.name,
      tenant: ir.tenant,
      chainId: old?.chainId ?? (await this.store.increment('/counters/chain-id')),
      generation: (old?.generation ?? 0) + 1,
      yaml,
      file,
      appliedAtMs: Date.now(),
      ir,
      instances: [],
      gateways: [],
    };
    this.names.set(next.chainId, { tenant: next.tenant, name: next.name });
    let record: JobRecord;
    let what: string;
    try {
      if (old && treeOf(old.ir) === treeOf(ir)) {
        // Same job: keep its aggregators (and their accumulators) and rounds.
        record = { ...next, instances: old.instances, gateways: old.gateways };
        await this.deployer.program(record);
        what = 'unchanged, its aggregators and rounds kept';
      } else {
        if (old) await this.deployer.teardown(old);
        record = await this.place(next, ids, chainRecords);
        await this.deployer.deploy(record);
        this.rounds.started(record);
        what = `${old ? `${changeOf(old, record)} changed, deployed again from round 0: ` : ''}${describePlacement(record)}`;
      }
    } catch (err) {
      if (err instanceof ChainError || err instanceof ChainSpecErrors) throw err;
      throw new ChainError('unavailable', `job ${formatChainRef(ir)}: ${(err as Error).message}`);
    }
    await this.store.put(key, record);
    this.healthByJob.delete(key);
    this.events.emit({ kind: 'job-applied', chain: record.name, tenant: record.tenant, message: `job ${formatChainRef(record)} generation ${record.generation}: ${what}` });
    return record;
  }

  /** Aggregators placed (one instance per stage) and gateways where
   * updates arrive, plus the home node, whose coordinator owns the rounds. */
  private async place(r: JobRecord, ids: IdAllocator, chainRecords: ChainRecord[]): Promise<JobRecord> {
    const others = [...chainRecords, ...(await this.list()).filter((j) => j.name !== r.name || j.tenant !== r.tenant)];
    const instances = this.placer.place(r.ir, new Map(r.ir.stages.map((s) => [s.id, 1])), { ir: r.ir, instances: [] }, others, ids, new Map());
    const home = homeNode(r.ir.job, instances);
    const hinted = r.ir.job.placement.nodes;
    const arrive = (node: string) => node === home || (hinted ? hinted.includes(node) : this.nodes.get(node)?.info.gatewayAddress !== '');
    const gateways = gatewaysFor(this.nodes, instances, [], ids).filter((g) => arrive(g.node));
    return { ...r, instances, gateways };
  }

  private compile(yaml: string, file: string, defaultTenant?: string): JobRecord['ir'] {
    const nodeNames = this.nodes.list().map((n) => n.name);
    const { chains, jobs, errors } = compileSpecText(yaml, file, { nodeArchs: this.nodes.archs(), defaultTenant, nodeNames });
    if (errors.length) throw new ChainSpecErrors(errors);
    if (chains.length) throw new ChainError('invalid', `${file}: holds ${chains.length === 1 ? 'a chain' : `${chains.length} chains`}; apply chains with ApplyChain (ferry apply -f picks by kind)`);
    if (jobs.length !== 1) throw new ChainError('invalid', `${file}: holds ${jobs.length} jobs; apply one AggregationJob per file`);
    return jobs[0] as JobRecord['ir'];
  }
}

/** What a re-apply changed, for its event. */
function changeOf(old: JobRecord, now: JobRecord): string {
  const shape = (r: JobRecord) => JSON.stringify(r.ir.stages.map((s) => s.name));
  return shape(old) !== shape(now) ? 'the aggregator tree' : old.ir.job.paramCount !== now.ir.job.paramCount ? 'the model' : 'the job';
}

/** "leaf-0@a leaf-1@b top@a", for events and logs. */
export function describePlacement(r: JobRecord): string {
  return r.instances.map((i) => `${r.ir.stages[i.stage]?.name}@${i.node}`).join(' ');
}
