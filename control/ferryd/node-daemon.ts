/**
 * What each NodeDaemon RPC does to this node, independent of gRPC: the
 * pools, the supervised instances, the route tables and the chains the
 * gateway serves. Requests arrive as received (proto3 defaults filled in);
 * every method validates first and changes nothing when it throws an
 * RpcError.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { DEFAULT_TENANT } from '../chain/tenant.js';
import { MAX_REPLICAS } from '../dataplane/descriptor.js';
import type { SizeClass } from '../dataplane/native.js';
import type { Logger } from '../log.js';
import type { NodeDataPlane } from '../node/dataplane.js';
import type { RemoteChain, RemoteHops } from '../node/peer/hops.js';
import type { PeerLink } from '../node/peer/link.js';
import { paths } from '../paths.js';
import type { BalanceSpec } from '../balance/registry.js';
import { Balancer } from './balance/balancer.js';
import type { WarmUp } from './balance/instance-meter.js';
import { ChainRoutes, type ShapedRoute } from './chain-routes.js';
import { GatewayDirectory, type GatewaySettings } from './gateway-directory.js';
import type { Unavailable } from '../gateway/directory.js';
import { InstanceEventLog } from './instance-events.js';
import { checkJobConfig, type JobSpec } from './jobs/config.js';
import { JobCoordinator } from './jobs/coordinator.js';
import { JobDirectory } from './jobs/directory.js';
import { JobFederation } from './jobs/federation.js';
import { SignalCollector } from './signals.js';
import { InterruptSinks } from './interrupts.js';
import { ServedRecord } from './served-record.js';
import { splitRoutes, withEgress, type SplitRoutes } from './remote-routes.js';
import type {
  CreatePoolRequest,
  CreatePoolResponse,
  DeleteChainRequest,
  DeleteChainResponse,
  InstanceStatus,
  JobConfig,
  ListInstancesRequest,
  ListInstancesResponse,
  ProgramChainRequest,
  ProgramChainResponse,
  SetPeersRequest,
  SetPeersResponse,
  StartInstanceRequest,
  StopInstanceRequest,
} from './proto.js';
import { alreadyExists, failedPrecondition, invalid, notFound, resourceExhausted } from './rpc-error.js';
import { countersOf, inFlight } from './stats.js';
import { Supervisor, type BackoffPolicy } from './supervisor.js';
import {
  checkCreatePool,
  checkDeleteChain,
  checkListChain,
  checkProgramChain,
  checkSetPeers,
  checkStartInstance,
  checkStopInstance,
  type ChainProgram,
} from './validate.js';

export interface NodeDaemonOptions {
  dataPlane: NodeDataPlane;
  log: Logger;
  backoff?: BackoffPolicy;
  stopGraceMs?: number;
  /** How often a drain looks at the instance's counters. */
  drainPollMs?: number;
  /** This node's name (what peers and route targets call it). */
  nodeName?: string;
  /** The links to other nodes; none: this ferryd serves only local hops. */
  peers?: { link: PeerLink; hops: RemoteHops };
  /** How long an instance holding expired requests gets to answer a
   * liveness probe before it is killed as stuck. */
  probeTimeoutMs?: number;
  /** How long a new instance may take to say it is ready. */
  startTimeoutMs?: number;
  /** How often instances with traffic are asked for their service times. */
  signalIntervalMs?: number;
  /** Where ferryd keeps what must outlive it (the chains its gateway
   * serves); none: nothing is kept, and after a restart the gateway answers
   * 404 for its chains until the control plane programs them again. */
  stateDir?: string;
  /** How long chains served before a restart answer 503 restoring (default 60 s). */
  restoreGraceMs?: number;
  /** How often the balance policies set the route weights (default 250 ms). */
  balanceTickMs?: number;
  /** The policy of stages ProgramChain gives none (default random). */
  defaultBalance?: BalanceSpec;
  /** When an instance's completions start to count for learning. */
  warmUp?: WarmUp;
}

interface PoolRecord {
  name: string;
  tenant: string;
  classes: SizeClass[];
  quotaBytes: number;
  /** Buffers freed past their deadline. */
  expired: number;
}

const DEFAULT_DRAIN_POLL_MS = 20;
const DEFAULT_PROBE_TIMEOUT_MS = 2000;
const DEFAULT_RESTORE_GRACE_MS = 60_000;

const sameClasses = (a: SizeClass[], b: SizeClass[]) => a.length === b.length && a.every((c, i) => c.size === b[i]?.size);

const describeClasses = (cs: SizeClass[]) => `[${cs.map((c) => c.size).join(', ')}]`;

export class NodeDaemon {
  readonly dataPlane: NodeDataPlane;
  readonly supervisor: Supervisor;
  readonly routes: ChainRoutes;
  readonly balancer: Balancer;
  readonly interrupts: InterruptSinks;
  readonly directory: GatewayDirectory;
  /** The aggregation jobs this node's gateway serves (ProgramChain with a job). */
  readonly jobs = new JobDirectory();
  readonly events = new InstanceEventLog();
  readonly signals: SignalCollector;
  private readonly log: Logger;
  private readonly probing = new Set<number>();
  /** 'chain' (chainId): a ProgramChain of it took effect. */
  private readonly programmed = new EventEmitter<{ chain: [number] }>();
  /** Per chain, the requests waiting for it to become ready (whenReady):
   * one listener each on the events that may change that, woken per chain,
   * instead of three listeners per waiting request (up to the hold bound). */
  private readonly readyWaiters = new Map<number, Set<() => void>>();
  private readonly probeTimeoutMs: number;
  private readonly pools = new Map<number, PoolRecord>();
  /** Chains being deleted, and the deletion in progress. */
  private readonly deleting = new Map<number, Promise<DeleteChainResponse>>();
  private readonly drainPollMs: number;
  private readonly nodeName: string;
  private readonly peers: NodeDaemonOptions['peers'];
  /** Multi-node jobs' coordinators talking over the peer link. */
  private readonly federation: JobFederation | undefined;

  constructor(opts: NodeDaemonOptions) {
    this.dataPlane = opts.dataPlane;
    this.nodeName = opts.nodeName ?? '';
    this.peers = opts.peers;
    this.log = opts.log;
    this.federation = opts.peers && new JobFederation({ link: opts.peers.link, jobs: this.jobs, log: this.log });
    this.drainPollMs = opts.drainPollMs ?? DEFAULT_DRAIN_POLL_MS;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    this.interrupts = new InterruptSinks(this.log);
    this.balancer = new Balancer({
      log: this.log,
      counters: (id) => countersOf(this.dataPlane, id),
      instances: { has: (id) => this.supervisor.has(id), status: (id) => this.supervisor.status(id), spec: (id) => this.supervisor.spec(id) },
      routes: () => this.routes,
      peers: opts.peers,
      defaultSpec: opts.defaultBalance,
      tickMs: opts.balanceTickMs,
      warmUp: opts.warmUp,
    });
    // ferryd's own endpoints (egress, proxies) are not supervised: always routable.
    this.routes = new ChainRoutes(
      this.dataPlane.router,
      (id) => !this.supervisor.has(id) || this.supervisor.isRoutable(id),
      (chainId, stage, live): ShapedRoute => this.balancer.shape(chainId, stage, live),
    );
    this.directory = new GatewayDirectory(
      this.dataPlane,
      this.interrupts,
      opts.stateDir === undefined
        ? undefined
        : { record: new ServedRecord(opts.stateDir, this.nodeName, this.log), graceMs: opts.restoreGraceMs ?? DEFAULT_RESTORE_GRACE_MS, log: this.log },
      {
        unavailable: (chainId) => this.chainHealth(chainId),
        whenReady: (chainId, timeoutMs) => this.whenReady(chainId, timeoutMs),
        demand: (chainId) => this.demand(chainId),
      },
    );
    this.supervisor = new Supervisor({
      dataPlane: this.dataPlane,
      log: this.log,
      backoff: opts.backoff,
      stopGraceMs: opts.stopGraceMs,
      startTimeoutMs: opts.startTimeoutMs,
      onExit: (st, exit, crashed) => {
        if (exit.interrupted.length === 0) return;
        const how = crashed ? st.lastError || 'crashed' : 'stopped';
        this.interrupts.fail(st.chainId, exit.interrupted, `instance ${st.instanceId} (${st.stageName}) ${how}`);
      },
    });
    this.supervisor.on('routable', (_id, chainId) => this.routes.refresh(chainId));
    const wake = (chainId: number) => {
      for (const check of [...(this.readyWaiters.get(chainId) ?? [])]) check();
    };
    this.supervisor.on('routable', (_id, chainId) => wake(chainId));
    this.supervisor.on('event', (e) => wake(e.chainId));
    // A ProgramChain that names no idle stage any more lets held requests in.
    this.programmed.on('chain', wake);
    this.supervisor.on('event', (e) => {
      if (e.kind === 'crashed' || e.kind === 'oom-killed' || e.kind === 'stuck-killed') this.jobs.of(e.chainId)?.aggregatorLost(e.stageName, e.kind);
      const event = this.events.record(e);
      const fields = { instance: e.instanceId, chain: e.chainId, stage: e.stageName, seq: event.seq };
      if (e.kind === 'crashed' || e.kind === 'oom-killed' || e.kind === 'stuck-killed' || e.kind === 'crash-loop')
        this.log.warn(e.message, { event: e.kind, ...fields });
      else this.log.debug(e.message, { event: e.kind, ...fields });
    });
    // A dead instance leaves the routes before its queue is read back.
    this.dataPlane.on('instance-down', (id) => {
      const spec = this.supervisor.spec(id);
      if (spec) this.routes.refresh(spec.chainId);
    });
    this.dataPlane.on('expired', (chainId, count, expired) => this.onExpired(chainId, count, expired));
    this.signals = new SignalCollector({ dataPlane: this.dataPlane, supervisor: this.supervisor, log: this.log, intervalMs: opts.signalIntervalMs });
    this.signals.start();
  }

  /**
   * Buffers outlived their request's deadline and were freed. Whoever held
   * them may just be slow (an async handler still waiting), or stuck (a
   * handler that never returns blocks its whole loop): an instance that
   * does not answer a liveness probe is killed, and restarted.
   */
  private onExpired(chainId: number, count: number, expired: { owner: number; tag: number }[]): void {
    const pool = this.pools.get(chainId);
    if (pool) pool.expired += count;
    const holders = new Set(expired.map((e) => e.owner).filter((o) => this.supervisor.has(o)));
    this.log.info('freed buffers of requests past their deadline', { chain: chainId, buffers: count, holders: [...holders] });
    for (const id of holders) {
      if (this.probing.has(id) || this.supervisor.status(id)?.pid === 0) continue;
      this.probing.add(id);
      const pid = this.supervisor.status(id)?.pid;
      void this.dataPlane
        .ping(id, this.probeTimeoutMs)
        .then((alive) => {
          if (alive || this.supervisor.status(id)?.pid !== pid) return;
          this.supervisor.killStuck(
            id,
            `stuck: held a request past its deadline and did not answer a liveness probe within ${this.probeTimeoutMs} ms (a handler that never returns?)`,
          );
        })
        .finally(() => this.probing.delete(id));
    }
  }

  /** Why requests to a stage of a chain cannot be served here right now,
   * or undefined when some target can take them. `starting`: only because
   * its instances are still loading their function (worth waiting for). */
  stageHealth(chainId: number, stage: number): Unavailable | undefined {
    const programmed = this.routes.route(chainId, stage);
    if (!programmed || this.routes.live(chainId, stage).length > 0) return undefined;
    const states = programmed.map((t) => this.supervisor.status(t.instance)).filter((s): s is InstanceStatus => s !== undefined);
    if (states.length === 0) return { reason: `stage ${stage} has no instance on this node`, retryAfterMs: 1000, starting: false };
    const retryAfterMs = Math.max(1000, Math.min(...states.map((s) => s.restartInMs || 1000)));
    const why = states
      .map((s) => {
        const what =
          s.state === 'STARTING'
            ? 'is starting'
            : s.state === 'CRASH_LOOP'
              ? `is in a crash loop (next start in ${s.restartInMs} ms)`
              : s.state === 'RESTARTING'
                ? `crashed and restarts in ${s.restartInMs} ms`
                : `is ${s.state.toLowerCase()}`;
        return `instance ${s.instanceId} ${what}${s.lastError ? `: ${s.lastError}` : ''}`;
      })
      .join('; ');
    return {
      reason: `stage ${states[0]!.stageName} has no instance ready: ${why}`,
      retryAfterMs,
      starting: states.every((s) => s.state === 'STARTING'),
    };
  }

  /** The first stage of the chain here that cannot take requests now: one
   * scaled to zero first (requests wait for it), then local ones. */
  chainHealth(chainId: number): Unavailable | undefined {
    const idle = this.directory.idleStages(chainId);
    if (idle.length > 0)
      return {
        reason: `stage ${idle.map((s) => s.name).join(', ')} of this chain is scaled to zero; an instance is being started`,
        retryAfterMs: 1000,
        starting: true,
        idle: true,
      };
    for (const stage of this.routes.stages(chainId)) {
      const h = this.stageHealth(chainId, stage);
      if (h) return h;
    }
    return undefined;
  }

  /** Resolves when the chain can take requests (undefined), when a stage
   * cannot for another reason than starting, or after timeoutMs. */
  whenReady(chainId: number, timeoutMs: number): Promise<Unavailable | undefined> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiters = this.readyWaiters.get(chainId) ?? new Set<() => void>();
      this.readyWaiters.set(chainId, waiters);
      const done = (h: Unavailable | undefined) => {
        if (timer) clearTimeout(timer);
        waiters.delete(check);
        if (waiters.size === 0 && this.readyWaiters.get(chainId) === waiters) this.readyWaiters.delete(chainId);
        resolve(h);
      };
      const check = () => {
        const h = this.chainHealth(chainId);
        if (!h?.starting) done(h);
      };
      waiters.add(check);
      timer = setTimeout(() => done(this.chainHealth(chainId)), timeoutMs);
      check();
    });
  }

  /** The gateway holds requests for the chain's idle stages: ask the
   * control plane (watching instance events) for an instance of each. */
  demand(chainId: number): void {
    const served = this.directory.served(chainId);
    const held = served?.hold?.held ?? 0;
    for (const s of this.directory.idleStages(chainId))
      this.events.record({
        kind: 'demand',
        instanceId: 0,
        chainId,
        stage: s.stage,
        stageName: s.name,
        pid: 0,
        exitCode: 0,
        signal: '',
        restarts: 0,
        backoffMs: 0,
        message: `the gateway holds ${held} request${held === 1 ? '' : 's'} for stage ${s.name}, which has no instance: start one`,
      });
  }

  createPool(req: CreatePoolRequest): CreatePoolResponse {
    const p = checkCreatePool(req);
    this.notDeleting(p.chainId);
    const have = this.pools.get(p.chainId);
    if (have) {
      if (have.name !== p.name)
        throw alreadyExists(`chain ${p.chainId} already has a pool here as "${have.name}", not "${p.name}"; DeleteChain first`);
      if (!sameClasses(have.classes, p.classes))
        throw alreadyExists(
          `chain ${p.chainId} already has a pool here with classes ${describeClasses(have.classes)}, not ${describeClasses(p.classes)}; DeleteChain first`,
        );
      return this.poolResponse(p.chainId);
    }
    try {
      this.dataPlane.createPool(p.chainId, p.tenant ? `${p.tenant}-${p.name}` : p.name, {
        classes: p.classes,
        tenant: p.tenant || 'default',
        quotaBytes: p.quotaBytes,
        lifetimeMs: p.lifetimeMs,
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'ETENANT_QUOTA') throw resourceExhausted((err as Error).message);
      throw err;
    }
    this.pools.set(p.chainId, { name: p.name, tenant: p.tenant, classes: p.classes, quotaBytes: p.quotaBytes, expired: 0 });
    const res = this.poolResponse(p.chainId);
    this.log.info('pool created', { chain: p.chainId, name: p.name, tenant: p.tenant, quota: p.quotaBytes, classes: describeClasses(p.classes) });
    return res;
  }

  private poolResponse(chainId: number): CreatePoolResponse {
    const occ = this.dataPlane.occupancy(chainId);
    return {
      poolBytes: this.dataPlane.pool(chainId).size,
      classes: occ.classes.map((c) => ({ size: c.size, count: c.capacity })),
      quotaBytes: occ.quotaBytes,
    };
  }

  /** The chain's name and tenant here (from its CreatePool), for labels. */
  chainLabels(chainId: number): { chain: string; tenant: string } {
    const p = this.pools.get(chainId);
    return { chain: p?.name ?? String(chainId), tenant: p?.tenant || DEFAULT_TENANT };
  }

  /** Buffers freed past their deadline in the chain's pool, since it was made. */
  /** Payload bytes the peer links copied in user space (0 on plain TCP
   * links), by transport; undefined without a peer listener. */
  peerCopiedBytes(): { transport: string; bytes: number } | undefined {
    if (!this.peers) return undefined;
    const s = this.peers.link.stats();
    return { transport: s.transport, bytes: s.copiedBytes + this.peers.hops.counters.copiedBytes };
  }

  expiredBuffers(chainId: number): number {
    return this.pools.get(chainId)?.expired ?? 0;
  }

  /** Idempotent: a chain this node does not know has nothing to delete. */
  deleteChain(req: DeleteChainRequest): Promise<DeleteChainResponse> {
    const chainId = checkDeleteChain(req);
    let p = this.deleting.get(chainId);
    if (!p) {
      p = this.doDelete(chainId).finally(() => this.deleting.delete(chainId));
      this.deleting.set(chainId, p);
    }
    return p;
  }

  private async doDelete(chainId: number): Promise<DeleteChainResponse> {
    // Outside in: no new requests from the gateway, no routes, then the
    // instances, and the pool once nothing maps it through us any more.
    this.jobs.remove(chainId);
    this.directory.unserve(chainId);
    this.routes.clear(chainId);
    this.balancer.forget(chainId);
    this.peers?.hops.remove(chainId);
    const ids = this.supervisor.list(chainId).map((s) => s.instanceId);
    await Promise.all(ids.map((id) => this.supervisor.stop(id)));
    for (const id of ids) this.signals.forget(id);
    this.dataPlane.deletePool(chainId);
    this.pools.delete(chainId);
    this.log.info('chain deleted', { chain: chainId, stoppedInstances: ids.length });
    return { stoppedInstances: ids.length };
  }

  startInstance(req: StartInstanceRequest): InstanceStatus {
    const { spec, restart } = checkStartInstance(req);
    this.notDeleting(spec.chainId);
    if (!this.dataPlane.hasPool(spec.chainId))
      throw failedPrecondition(`chain ${spec.chainId} has no pool on this node: call CreatePool first`);
    // An instance runs as its chain's tenant: the pool it maps is that tenant's.
    const pool = this.pools.get(spec.chainId);
    const tenant = pool?.tenant || DEFAULT_TENANT;
    if (spec.tenant && spec.tenant !== tenant)
      throw invalid('tenant', `"${spec.tenant}" is not the tenant of chain ${spec.chainId} on this node ("${tenant}", from CreatePool)`);
    spec.tenant = tenant;
    spec.env = { ...spec.env, FERRY_NODE: this.nodeName, FERRY_CHAIN: pool?.name ?? '', FERRY_TENANT: tenant };
    const have = this.supervisor.status(spec.instanceId);
    if (have && have.state !== 'EXITED' && have.state !== 'CRASHED')
      throw alreadyExists(`instance ${spec.instanceId} already exists here (chain ${have.chainId}, stage ${have.stageName}, ${have.state})`);
    const gwChain = this.directory.chainOfGateway(spec.instanceId);
    if (gwChain !== undefined) throw alreadyExists(`instance_id: ${spec.instanceId} is chain ${gwChain}'s gateway endpoint on this node`);
    if (spec.runtime === 'native' && !existsSync(paths.nativeRunner))
      throw failedPrecondition(`runtime "native": the native runner ${paths.nativeRunner} is not built on this node (npm run setup)`);
    const unreachable = this.dataPlane.unreachable(spec);
    if (unreachable) throw failedPrecondition(unreachable);
    return this.supervisor.start(spec, restart);
  }

  /** Drain, then stop: out of its stage's routes first so nothing new
   * arrives, then wait (up to the drain timeout) for what it holds. */
  async stopInstance(req: StopInstanceRequest): Promise<InstanceStatus> {
    const { instanceId, drainTimeoutMs } = checkStopInstance(req);
    const spec = this.supervisor.spec(instanceId);
    if (!spec) throw notFound(`instance ${instanceId} is not on this node`);
    this.supervisor.beginDrain(instanceId); // takes it out of the routes
    await this.drained(instanceId, drainTimeoutMs);
    const stopped = await this.supervisor.stop(instanceId);
    this.signals.forget(instanceId);
    // Stopped meanwhile by someone else (DeleteChain): report it as gone.
    return stopped ?? { ...(this.supervisor.status(instanceId) ?? emptyStatus(instanceId, spec.chainId)), state: 'EXITED' };
  }

  private async drained(instanceId: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = this.supervisor.status(instanceId);
      if (!st || st.pid === 0) return; // not running: nothing in flight
      const n = inFlight(countersOf(this.dataPlane, instanceId));
      if (n === 0) return;
      if (Date.now() >= deadline) {
        this.log.warn('drain timed out; stopping with requests in flight', { instance: instanceId, inFlight: n, timeoutMs });
        return;
      }
      await new Promise((r) => setTimeout(r, this.drainPollMs));
    }
  }

  listInstances(req: ListInstancesRequest): ListInstancesResponse {
    return { instances: this.supervisor.list(checkListChain(req)) };
  }

  programChain(req: ProgramChainRequest): ProgramChainResponse {
    const prog = checkProgramChain(req);
    this.notDeleting(prog.chainId);
    const split = splitRoutes(prog.routes, this.nodeName);
    this.checkTargets(split.local, prog.chainId);
    const remote: RemoteChain = { chainId: prog.chainId, remoteStages: split.remote, remoteGateways: prog.remoteGateways };
    this.checkRemote(remote, split);
    const gateway = prog.gateway && this.gatewaySettings(prog);
    const job = req.job ? this.jobSpec(prog, req.job) : undefined;
    if (gateway) {
      gateway.job = job !== undefined;
      this.directory.checkServe(prog.chainId, gateway);
    }
    // The stages' policies before hops and routes: both are written with
    // the weights they make (and keep what they learnt when unchanged).
    this.balancer.configure(prog.chainId, prog.balance);
    // Hops before the gateway (a gateway that moved here replaces its
    // proxy) and before the routes (they point at the egress).
    const egress = this.programHops(remote);
    // Gateway first: it is the part that can still fail (endpoint
    // registration), and routes that lead to no gateway are harmless.
    if (!job) this.jobs.remove(prog.chainId);
    if (gateway) this.directory.serve(prog.chainId, gateway);
    else this.directory.unserve(prog.chainId);
    if (job) this.serveJob(prog.chainId, job);
    this.routes.program(prog.chainId, withEgress(split, egress), prog.allow);
    this.programmed.emit('chain', prog.chainId);
    this.log.info('chain programmed', {
      chain: prog.chainId,
      stages: prog.routes.length,
      edges: prog.allow.length,
      gateway: gateway ? `${gateway.name} (endpoint ${gateway.gatewayInstanceId})` : undefined,
    });
    return {};
  }

  /** The job a ProgramChain carries, checked; a job needs this node's gateway. */
  private jobSpec(prog: ChainProgram, cfg: JobConfig): JobSpec {
    if (!prog.gateway) throw invalid('gateway', 'a job is served by this node\'s gateway: give a gateway config with it');
    if (!cfg.home) {
      // A follower: its home coordinates the rounds, over the peer link.
      if (!this.federation) throw failedPrecondition(`job.home: this node follows node "${cfg.homeNode}" for the job, which needs a peer link: start ferryd with --peer HOST:PORT`);
      if (!cfg.homeNode || cfg.homeNode === this.nodeName) throw invalid('job.home_node', `a follower names its home node, another node (got "${cfg.homeNode}")`);
      if (!this.federation.knows(cfg.homeNode)) throw failedPrecondition(`job.home_node: node ${cfg.homeNode} is not a peer of ${this.nodeName}: SetPeers first`);
    }
    const largest = Math.max(...this.dataPlane.pool(prog.chainId).stats().classes.map((c) => c.size));
    const spec = checkJobConfig(cfg, largest);
    spec.tenant = spec.tenant || this.pools.get(prog.chainId)?.tenant || DEFAULT_TENANT;
    const other = this.jobs.lookup(spec.name, spec.tenant);
    if (other && other.chainId !== prog.chainId) throw alreadyExists(`job.name: chain ${other.chainId} already serves job "${spec.name}" on this node`);
    return spec;
  }

  /** Start the job's coordinator, or keep the running one when the job
   * and the gateway endpoint it injects through are the same. */
  private serveJob(chainId: number, spec: JobSpec): void {
    const served = this.directory.served(chainId)!;
    const have = this.jobs.of(chainId);
    if (have && have.spec.name === spec.name && have.injector === served.injector) return;
    const job = new JobCoordinator({
      spec,
      chainId,
      injector: served.injector,
      log: this.log,
      timeoutMs: served.timeoutMs,
      bodyTimeoutMs: served.bodyTimeoutMs,
      headroom: this.jobHeadroom(chainId, spec),
      onEvent: (kind, message) =>
        this.events.record({ kind, instanceId: 0, chainId, stage: 0, stageName: '', pid: 0, exitCode: 0, signal: '', restarts: 0, backoffMs: 0, message }),
      ...this.federation?.linkFor(chainId, spec, served.bodyTimeoutMs),
    });
    this.jobs.add(chainId, job);
    job.start();
  }

  /** Quota an aggregation job's uploads leave free: a few of the pool's
   * smallest buffers per aggregator stage, for their ACK/FLUSH/PARTIAL. */
  private jobHeadroom(chainId: number, spec: JobSpec): { free(): number; reserve: number } {
    const smallest = this.pools.get(chainId)?.classes[0]?.size ?? 64;
    const stages = spec.groups.reduce((n, g) => n + g.leaves.length, 0) + spec.groups.length + 1;
    return {
      free: () => {
        const o = this.dataPlane.occupancy(chainId);
        return o.quotaBytes - o.inUseBytes;
      },
      reserve: smallest * 4 * stages,
    };
  }

  /** Configure the links to other nodes and the ids ferryd's own
   * endpoints may use. */
  setPeers(req: SetPeersRequest): SetPeersResponse {
    if (!this.peers) throw failedPrecondition('this ferryd has no peer listener (start it with --peer HOST:PORT)');
    const cfg = checkSetPeers(req, this.nodeName);
    try {
      this.peers.hops.setInfraIds(cfg.infraIdBase, cfg.infraIdCount);
    } catch (err) {
      throw failedPrecondition(`infra_id_base: ${(err as Error).message}`);
    }
    this.peers.link.setPeers(cfg.peers);
    this.log.info('peers set', { peers: cfg.peers.map((p) => `${p.name}=${p.address}`), infraIds: `${cfg.infraIdBase}+${cfg.infraIdCount}` });
    return { connected: this.peers.link.connected() };
  }

  private hasRemote(r: RemoteChain): boolean {
    return r.remoteStages.size > 0 || r.remoteGateways.length > 0;
  }

  /** Remote targets and gateways need peers that are configured here. */
  private checkRemote(r: RemoteChain, split: SplitRoutes): void {
    if (!this.hasRemote(r)) return;
    if (!this.peers) throw failedPrecondition('routes name instances on other nodes, but this ferryd has no peer listener (--peer)');
    if (!this.dataPlane.hasPool(r.chainId)) throw failedPrecondition(`chain ${r.chainId} has no pool on this node: call CreatePool first`);
    split.local.forEach((route, i) => {
      if (r.remoteStages.has(route.stage) && route.targets.length >= MAX_REPLICAS)
        throw invalid(`routes[${i}].targets`, `${route.targets.length} local instances and the egress to other nodes are more than the ${MAX_REPLICAS} a route holds`);
    });
    try {
      this.peers.hops.check(r);
    } catch (err) {
      throw failedPrecondition((err as Error).message);
    }
  }

  /** The egress id for the routes of remote stages, if any. */
  private programHops(r: RemoteChain): number | undefined {
    // A chain without a pool here has no hops to set up (and nothing remote: checked).
    if (!this.peers || !this.dataPlane.hasPool(r.chainId)) return undefined;
    try {
      return this.peers.hops.program(r);
    } catch (err) {
      throw failedPrecondition(`inter-node hops: ${(err as Error).message}`);
    }
  }

  /** Route targets are instances of this chain known here. */
  private checkTargets(routes: SplitRoutes['local'], chainId: number): void {
    routes.forEach((r, i) =>
      r.targets.forEach((t, j) => {
        const f = `routes[${i}].targets[${j}].instance`;
        const st = this.supervisor.status(t.instance);
        if (!st) {
          const gwChain = this.directory.chainOfGateway(t.instance);
          if (gwChain !== undefined) throw invalid(f, `${t.instance} is chain ${gwChain}'s gateway endpoint, not an instance`);
          throw failedPrecondition(`${f}: instance ${t.instance} is not on this node; StartInstance first`);
        }
        if (st.chainId !== chainId) throw invalid(f, `instance ${t.instance} belongs to chain ${st.chainId}, not ${chainId}`);
        if (st.stage !== r.stage) throw invalid(f, `instance ${t.instance} serves stage ${st.stage} (${st.stageName}), not ${r.stage}`);
      }),
    );
  }

  private gatewaySettings(prog: ChainProgram): GatewaySettings {
    const g = prog.gateway!;
    if (!this.dataPlane.hasPool(prog.chainId))
      throw failedPrecondition(`gateway: chain ${prog.chainId} has no pool on this node: call CreatePool first`);
    const have = this.supervisor.status(g.gatewayInstanceId);
    if (have) throw alreadyExists(`gateway.gateway_instance_id: ${g.gatewayInstanceId} is an instance of chain ${have.chainId} on this node`);
    const largest = Math.max(...this.dataPlane.pool(prog.chainId).stats().classes.map((c) => c.size));
    if (g.maxBodyBytes > largest)
      throw invalid('gateway.max_body_bytes', `${g.maxBodyBytes} is more than the pool's largest buffer (${largest} bytes)`);
    return {
      name: g.chainName,
      tenant: this.pools.get(prog.chainId)?.tenant || DEFAULT_TENANT,
      entryStage: g.entryStage,
      maxBodyBytes: g.maxBodyBytes || largest,
      timeoutMs: g.timeoutMs,
      bodyTimeoutMs: g.bodyTimeoutMs,
      gatewayInstanceId: g.gatewayInstanceId,
      idle: g.idle,
      holdRequests: g.holdRequests,
      holdTimeoutMs: g.holdTimeoutMs,
      requestKey: [...prog.balance.values()].find((b) => b?.key)?.key,
    };
  }

  private notDeleting(chainId: number): void {
    if (this.deleting.has(chainId)) throw failedPrecondition(`chain ${chainId} is being deleted on this node; retry when DeleteChain returns`);
  }

  /** Stop every instance and close every gateway endpoint. Routes and
   * pinned maps stay: they belong to the node, not to this process. */
  async close(): Promise<void> {
    this.signals.close();
    this.balancer.close();
    this.jobs.closeAll();
    this.federation?.close();
    this.directory.closeAll();
    await this.supervisor.close();
  }
}

function emptyStatus(instanceId: number, chainId: number): InstanceStatus {
  return { instanceId, chainId, stage: 0, stageName: '', pid: 0, state: 'EXITED', restarts: 0, lastError: '', ready: false, restartInMs: 0 };
}
