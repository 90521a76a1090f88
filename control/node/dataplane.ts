/**
 * The node's data plane as ferryd runs it: one pool per chain, one endpoint
 * per instance, the router (eBPF or relay), and the instance processes.
 * It keeps what is needed to clean up after an instance: when one exits,
 * what was queued for it is read back and failed, its endpoint is
 * unregistered and every buffer it held is reclaimed. A keeper sizes the
 * pools and frees buffers that outlived their request's deadline.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { decodeDescriptor, DESC_SIZE, STAGE_REPLY } from '../dataplane/descriptor.js';
import {
  native,
  type EndpointIdent,
  type ExpiredBuffer,
  type NativeEndpoint,
  type NativeInstance,
  type NativePool,
  type RouteTarget,
  type RouterCounters,
  type SizeClass,
} from '../dataplane/native.js';
import { createLogger, type Logger } from '../log.js';
import { ControlChannel, type ServiceReport } from './control-channel.js';
import { bundleHandler } from './handler-bundle.js';
import { nextSpec, runtimeCommand, runtimeFiles, spawnInstanceProcess, type Runtime, type StageRef } from './instance-process.js';
import { ElasticPool, type PoolOccupancy } from './pool/elastic-pool.js';
import { TenantBudget } from './pool/tenant-budget.js';
import { DEFAULT_TENANT, type FileNeed, type Sandbox, type SandboxRequest } from './sandbox/sandbox.js';
import { selectSandbox, type SandboxSelection } from './sandbox/select.js';
import type { Router } from './router/router.js';
import { selectRouter, type ModeRequest } from './router/select.js';

/** 2 KiB to 4 MiB, each class able to grow to the default quota: what a
 * pool gets when nobody says otherwise (tests, benchmarks, the demo). */
export const DEFAULT_SIZE_CLASSES: SizeClass[] = [
  { size: 2048, count: 128, maxCount: 32768 },
  { size: 65536, count: 8, maxCount: 1024 },
  { size: 1 << 20, count: 2, maxCount: 64 },
  { size: 4 << 20, count: 1, maxCount: 16 },
];
/** A chain's pool quota on a node when nobody says otherwise. */
export const DEFAULT_POOL_QUOTA = 64 << 20;
/** What all of one tenant's pools on a node may hold together. */
export const DEFAULT_TENANT_POOL_BYTES = 1 << 30;
/** How long a request's buffers may live when nobody says (see lifetimeMs). */
export const DEFAULT_LIFETIME_MS = 30_000;
/** How often the keeper sizes pools and frees expired buffers. */
const KEEPER_INTERVAL_MS = 200;
/** How often while every pool is at rest (nothing in use, nothing to grow
 * or shrink): then nothing can expire, and a burst that finds a pool short
 * is served by relieve() at once: waking 5 times a second buys nothing. A
 * buffer taken meanwhile is seen within a second, then kept at the pace above. */
const KEEPER_REST_MS = 1000;

export interface PoolOptions {
  classes?: SizeClass[];
  tenant?: string;
  quotaBytes?: number;
  /** How long a request may hold buffers here: the deadline given to a
   * request that lands from another node (the gateway sets its own). */
  lifetimeMs?: number;
}

export interface InstanceSpec {
  instanceId: number;
  chainId: number;
  stage: number;
  stageName: string;
  next: StageRef[];
  /** Either a runtime and handler, or an explicit command (bench drivers). */
  runtime?: Runtime;
  handler?: string;
  command?: string[];
  role?: 'instance' | 'gateway';
  env?: Record<string, string>;
  /** 'signal': routable once the instance says it is ready on its control
   * channel (the runtimes do, after loading the function); 'spawn': at once
   * (commands that do not speak the control protocol). Default: 'signal'
   * for a runtime, 'spawn' for a command. */
  readiness?: 'signal' | 'spawn';
  /** Whose instance it is: the sandbox runs each tenant as its own user.
   * Default "default". */
  tenant?: string;
  /** Limits its cgroup enforces; absent or 0: no cpu quota, no memory
   * limit, the sandbox's default pids limit. */
  resources?: Partial<InstanceResources>;
}

export interface InstanceResources {
  /** 500: 50 ms of CPU per 100 ms. */
  cpuMilli: number;
  memoryMb: number;
  /** Most processes and threads at once. */
  pids: number;
}

export interface InstanceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Buffers it held, now free again. */
  reclaimed: number;
  /** Request tags (low 32 bits of request ids) those buffers carried, and
   * of the requests still queued for it: the requests the exit interrupted. */
  interrupted: number[];
  /** Requests that were queued in its socket, read back and failed. */
  drained: number;
  /** It said it was ready before it exited. */
  wasReady: boolean;
  /** The kernel killed it for going over its memory limit. */
  oomKilled: boolean;
}

export interface RunningInstance {
  spec: InstanceSpec;
  pid: number;
  child: ChildProcess;
  peer: NativeEndpoint;
  /** Resolves with the exit code (or signal) once the instance is reaped. */
  exited: Promise<InstanceExit>;
  stderr: () => string;
  control: ControlChannel;
  /** Routable: it said it is ready (or needs not). */
  readonly ready: boolean;
  /** The user it runs as; undefined: ferryd's own (sandbox off). */
  uid?: number;
}

export interface DataPlaneOptions {
  mode?: ModeRequest;
  pinDir?: string;
  forceReload?: boolean;
  log?: Logger;
  /** What all of one tenant's pools on this node may hold together. */
  tenantPoolBytes?: number;
  /** This node's name (names its cgroup tree). */
  node?: string;
  /** How instances are confined: a mode ("auto" by default, or
   * $FERRY_SANDBOX), its settings, or a sandbox made elsewhere. */
  sandbox?: SandboxRequest | Omit<SandboxSelection, 'node' | 'log'> | Sandbox;
  /** How long a new instance runs before its CPU quota applies, at most
   * (it applies as soon as the instance is ready; 0: at once). A Node
   * runtime needs about half a CPU-second to start: under a 50m quota that
   * alone would take 10 s. */
  cpuStartupBoostMs?: number;
}

export const DEFAULT_CPU_STARTUP_BOOST_MS = 10_000;

/**
 * Events: 'instance-ready' (id), 'instance-down' (id: it exited; listeners
 * take it out of routes before its queue is read back), 'instance-exit'
 * (id, InstanceExit), 'expired' (chainId, count, ExpiredBuffer[]).
 */
export interface DataPlaneEvents {
  'instance-ready': [instanceId: number];
  'instance-down': [instanceId: number];
  'instance-exit': [instanceId: number, exit: InstanceExit];
  expired: [chainId: number, count: number, expired: ExpiredBuffer[]];
}

export class NodeDataPlane extends EventEmitter<DataPlaneEvents> {
  readonly router: Router;
  readonly log: Logger;
  readonly budget: TenantBudget;
  readonly sandbox: Sandbox;
  /** Sandbox clean-ups (cgroup removal) of exited instances still running. */
  private readonly releases = new Set<Promise<void>>();
  private launches = 0;
  private readonly cpuStartupBoostMs: number;
  private readonly pools = new Map<number, { pool: ElasticPool; lifetimeMs: number }>();
  private keeper: NodeJS.Timeout | undefined;
  private readonly instances = new Map<number, RunningInstance>();
  private readonly gateways = new Map<number, { instance: NativeInstance; peer: NativeEndpoint }>();
  /** ferryd's own endpoints (openEndpoint), by instance id. */
  private readonly endpoints = new Map<number, { chainId: number; endpoint: NativeEndpoint; peer: NativeEndpoint }>();

  constructor(opts: DataPlaneOptions = {}) {
    super();
    this.log = opts.log ?? createLogger({ component: 'ferryd' });
    this.router = selectRouter({ mode: opts.mode, pinDir: opts.pinDir, forceReload: opts.forceReload, log: this.log });
    this.budget = new TenantBudget(opts.tenantPoolBytes ?? DEFAULT_TENANT_POOL_BYTES);
    this.cpuStartupBoostMs = opts.cpuStartupBoostMs ?? DEFAULT_CPU_STARTUP_BOOST_MS;
    const sb = opts.sandbox;
    try {
      this.sandbox =
        sb !== undefined && typeof sb === 'object' && 'prepare' in sb
          ? sb
          : selectSandbox({ ...(typeof sb === 'object' ? sb : { mode: sb }), node: opts.node ?? 'node', log: this.log });
    } catch (err) {
      this.router.close();
      throw err;
    }
  }

  get mode() {
    return this.router.mode;
  }

  createPool(chainId: number, name: string, opts: PoolOptions = {}): NativePool {
    if (this.pools.has(chainId)) throw new Error(`chain ${chainId} already has a pool on this node`);
    const classes = opts.classes && opts.classes.length > 0 ? opts.classes : DEFAULT_SIZE_CLASSES;
    const pool = new ElasticPool({
      name: `ferry-${name}`,
      tenant: opts.tenant ?? 'default',
      classes,
      quotaBytes: opts.quotaBytes ?? DEFAULT_POOL_QUOTA,
      budget: this.budget,
      log: this.log.child({ chain: chainId }),
    });
    this.pools.set(chainId, { pool, lifetimeMs: opts.lifetimeMs ?? DEFAULT_LIFETIME_MS });
    this.startKeeper();
    return pool.native;
  }

  pool(chainId: number): NativePool {
    return this.elasticPool(chainId).native;
  }

  elasticPool(chainId: number): ElasticPool {
    const entry = this.pools.get(chainId);
    if (!entry) throw new Error(`chain ${chainId} has no pool on this node: create it first`);
    return entry.pool;
  }

  /** How long a request of the chain may hold buffers here. */
  lifetimeMs(chainId: number): number {
    return this.pools.get(chainId)?.lifetimeMs ?? DEFAULT_LIFETIME_MS;
  }

  occupancy(chainId: number): PoolOccupancy {
    return this.elasticPool(chainId).occupancy();
  }

  hasPool(chainId: number): boolean {
    return this.pools.has(chainId);
  }

  /** Chains that have a pool on this node. */
  poolChains(): number[] {
    return [...this.pools.keys()];
  }

  /** Unmap and forget a chain's pool so the chain can get a new one. Refused
   * while an instance or gateway of the chain still uses it: an exit
   * reclaims into the pool. Returns false when there was no pool. */
  deletePool(chainId: number): boolean {
    const pool = this.pools.get(chainId);
    if (!pool) return false;
    const users = [...this.instances.values()].filter((i) => i.spec.chainId === chainId).map((i) => i.spec.instanceId);
    for (const [id, gw] of this.gateways) if (gw.instance.chainId === chainId) users.push(id);
    for (const [id, ep] of this.endpoints) if (ep.chainId === chainId) users.push(id);
    if (users.length > 0) throw new Error(`chain ${chainId}'s pool is still used by instances ${users.join(', ')}: stop them first`);
    this.pools.delete(chainId);
    pool.pool.close();
    if (this.pools.size === 0) this.stopKeeper();
    return true;
  }

  /** A few times a second while pools exist and hold buffers (every
   * KEEPER_REST_MS while they rest): size them, and free what outlived its
   * request (whoever held it learns through 'expired'). */
  private startKeeper(): void {
    if (this.keeper) return;
    const next = (ms: number) => {
      const keeper = setTimeout(() => {
        const resting = this.keep();
        // Stopped meanwhile (the last pool went): no next round.
        if (this.keeper === keeper) next(resting ? KEEPER_REST_MS : KEEPER_INTERVAL_MS);
      }, ms);
      this.keeper = keeper;
      keeper.unref();
    };
    next(KEEPER_INTERVAL_MS);
  }

  private stopKeeper(): void {
    if (this.keeper) clearTimeout(this.keeper);
    this.keeper = undefined;
  }

  /** One round of upkeep; true when every pool is at rest. */
  private keep(): boolean {
    const now = native.nowMs();
    let resting = true;
    for (const [chainId, { pool }] of this.pools) {
      try {
        if (!pool.tick()) resting = false;
        const { count, expired } = pool.expire(now);
        if (count > 0) this.emit('expired', chainId, count, expired);
      } catch (err) {
        resting = false;
        this.log.warn('pool upkeep failed', { chain: chainId, error: (err as Error).message });
      }
    }
    return resting;
  }

  /** Why the sandboxed instance could not reach its runtime or handler;
   * undefined when it can. */
  unreachable(spec: InstanceSpec): string | undefined {
    return this.sandbox.unreachable(spec.tenant || DEFAULT_TENANT, this.filesOf(spec));
  }

  private filesOf(spec: InstanceSpec): FileNeed[] {
    if (!spec.command) return runtimeFiles(spec.runtime ?? 'node', spec.handler ?? '');
    const exe = spec.command[0];
    return exe?.startsWith('/') ? [{ path: exe, need: 'exec' }] : [];
  }

  /** Start an instance process, confined by the sandbox, and register its
   * endpoint. */
  spawn(spec: InstanceSpec): RunningInstance {
    if (this.instances.has(spec.instanceId) || this.gateways.has(spec.instanceId) || this.endpoints.has(spec.instanceId))
      throw new Error(`instance id ${spec.instanceId} is in use`);
    const pool = this.pool(spec.chainId);
    const tenant = spec.tenant || DEFAULT_TENANT;
    const unreachable = this.unreachable(spec);
    if (unreachable) throw new Error(unreachable);
    const runtime = spec.runtime ?? 'node';
    // A Node handler starts fastest bundled here (handler-bundle.ts).
    const bundle = !spec.command && runtime === 'node' && spec.handler
      ? bundleHandler(spec.handler, (files) => this.sandbox.unreachable(tenant, files.map((path) => ({ path, need: 'read' }))))
      : undefined;
    const command = spec.command ?? runtimeCommand(runtime, spec.handler ?? '', bundle !== undefined);
    const readiness = spec.readiness ?? (spec.command ? 'spawn' : 'signal');
    const r = spec.resources ?? {};
    const limits = { cpuMilli: r.cpuMilli ?? 0, memoryMb: r.memoryMb ?? 0, pids: r.pids || this.sandbox.defaultPids, deferCpuQuota: this.cpuStartupBoostMs > 0 };
    const launch = this.sandbox.prepare({ name: `${spec.instanceId}.${++this.launches}`, tenant, limits });
    let registered: { instanceFd: number; peer: NativeEndpoint } | undefined;
    let child: ChildProcess;
    let controlFd = -1;
    try {
      registered = this.register({ instanceId: spec.instanceId, chainId: spec.chainId, stage: spec.stage, role: spec.role ?? 'instance' });
      const [childCtl, ferrydCtl] = native.controlPair();
      controlFd = ferrydCtl;
      try {
        child = spawnInstanceProcess({ ...spec, command, endpointFd: registered.instanceFd, poolFd: pool.fd, controlFd: childCtl, prefix: launch.prefix, handlerCode: bundle?.code });
      } finally {
        native.closeFd(childCtl);
      }
    } catch (err) {
      if (registered) {
        this.router.removeEndpoint(spec.instanceId);
        native.closeFd(registered.instanceFd);
        registered.peer.close();
      }
      if (controlFd >= 0) native.closeFd(controlFd);
      this.release(launch.release());
      throw err;
    }
    const { instanceFd, peer } = registered;
    // ferryd keeps the instance's end of its endpoint: when the instance
    // dies, what was queued for it is still there to read back and fail at
    // once, instead of waiting out the requests' timeouts.
    const mailbox = new native.Endpoint(instanceFd);
    const control = new ControlChannel(controlFd);

    let errText = '';
    child.stderr?.on('data', (d: Buffer) => {
      errText = (errText + d.toString()).slice(-8192);
    });
    child.stdout?.on('data', (d: Buffer) => this.log.debug('instance output', { instance: spec.instanceId, out: d.toString() }));
    const log = this.log.child({ instance: spec.instanceId, stage: spec.stageName, chain: spec.chainId });
    let ready = readiness === 'spawn';
    // Its CPU quota applies once it is ready, or after the boost at most.
    if (limits.deferCpuQuota && ready) launch.startupOver();
    const boost = limits.deferCpuQuota && !ready ? setTimeout(() => launch.startupOver(), this.cpuStartupBoostMs).unref() : undefined;
    control.once('ready', () => {
      if (ready || !this.instances.has(spec.instanceId)) return;
      ready = true;
      if (boost) {
        clearTimeout(boost);
        launch.startupOver();
      }
      log.debug('instance ready', { pid: child.pid });
      this.emit('instance-ready', spec.instanceId);
    });
    const exited = new Promise<InstanceExit>((resolve) => {
      child.on('exit', (code, signal) => {
        const wasReady = ready;
        ready = false;
        clearTimeout(boost);
        // Out of the routes first (listeners do that), then read back what
        // was queued for it, then unregister: once its socket leaves the
        // sockhash the kernel drops whatever it still queued.
        this.emit('instance-down', spec.instanceId);
        const queued = this.drainMailbox(spec.chainId, mailbox, pool);
        // Whatever the router says, the buffers must still be reclaimed.
        try {
          this.router.removeEndpoint(spec.instanceId);
        } catch (err) {
          log.warn('could not unregister endpoint', { error: (err as Error).message });
        }
        mailbox.close();
        control.close();
        peer.close();
        this.instances.delete(spec.instanceId);
        const { count: reclaimed, tags } = pool.reclaimTagged(spec.instanceId);
        const interrupted = [...new Set([...tags, ...queued])];
        // Before its cgroup goes, which takes the OOM count with it.
        const oomKilled = launch.oomKilled();
        this.release(launch.release());
        const fields = {
          code,
          signal,
          oomKilled: oomKilled || undefined,
          memoryLimitMb: oomKilled ? limits.memoryMb : undefined,
          reclaimedBuffers: reclaimed,
          drained: queued.length,
          interrupted: interrupted.length,
          stderr: errText.trim() || undefined,
        };
        if (code === 0 || signal === 'SIGTERM') log.info('instance exited', fields);
        else log.warn('instance died', fields);
        const exit: InstanceExit = { code, signal, reclaimed, interrupted, drained: queued.length, wasReady, oomKilled };
        this.emit('instance-exit', spec.instanceId, exit);
        resolve(exit);
      });
    });
    const running: RunningInstance = {
      spec,
      pid: child.pid ?? -1,
      child,
      peer,
      exited,
      stderr: () => errText,
      control,
      get ready() {
        return ready;
      },
      uid: launch.uid,
    };
    this.instances.set(spec.instanceId, running);
    log.info('instance started', { pid: running.pid, runtime: spec.runtime ?? 'command', tenant, uid: launch.uid, limits });
    if (ready) queueMicrotask(() => this.instances.get(spec.instanceId) === running && this.emit('instance-ready', spec.instanceId));
    return running;
  }

  /** Read back the descriptors queued for a dead instance, free their
   * buffers and return their request tags (the requests to fail). */
  private drainMailbox(chainId: number, mailbox: NativeEndpoint, pool: NativePool): number[] {
    const tags: number[] = [];
    try {
      for (let n = mailbox.recvNow(); n > 0; n = mailbox.recvNow()) {
        for (let i = 0; i < n; i++) {
          const d = decodeDescriptor(mailbox.rx, i * DESC_SIZE);
          if (d.chainId !== chainId) continue;
          try {
            pool.free(d.offset, d.generation);
          } catch {
            // not a live buffer (stale, forged): nothing of ours to free
          }
          tags.push(Number(d.requestId & 0xffffffffn));
        }
      }
    } catch (err) {
      this.log.warn('could not read back a dead instance\'s queue', { chain: chainId, error: (err as Error).message });
    }
    return tags;
  }

  /** Keep a clean-up running in the background until close() waits for it. */
  private release(p: Promise<void>): void {
    const tracked = p
      .catch((err: Error) => this.log.warn('sandbox clean-up failed', { error: err.message }))
      .finally(() => this.releases.delete(tracked));
    this.releases.add(tracked);
  }

  /** What the instance measured of its requests since it last said;
   * undefined when it does not answer in time. */
  serviceStats(instanceId: number, timeoutMs: number): Promise<ServiceReport | undefined> {
    const inst = this.instances.get(instanceId);
    return inst ? inst.control.stats(timeoutMs) : Promise.resolve(undefined);
  }

  /** Is the instance alive enough to answer on its control channel? */
  ping(instanceId: number, timeoutMs: number): Promise<boolean> {
    const inst = this.instances.get(instanceId);
    return inst ? inst.control.ping(timeoutMs) : Promise.resolve(false);
  }

  /** An endpoint in this process that injects requests and receives replies. */
  openGateway(chainId: number, instanceId: number): NativeInstance {
    const pool = this.pool(chainId);
    const { instanceFd, peer } = this.register({ instanceId, chainId, stage: STAGE_REPLY, role: 'gateway' });
    const gw = new native.Instance({
      instanceId,
      chainId,
      stage: STAGE_REPLY,
      stageName: 'gateway',
      endpointFd: instanceFd,
      poolFd: pool.fd,
      next: nextSpec([]),
    });
    this.gateways.set(instanceId, { instance: gw, peer });
    return gw;
  }

  closeGateway(instanceId: number): void {
    const gw = this.gateways.get(instanceId);
    if (!gw) return;
    this.gateways.delete(instanceId);
    this.router.removeEndpoint(instanceId);
    gw.instance.close();
    gw.peer.close();
  }

  /**
   * An endpoint in this process with any identity (role instance for a
   * stage, or gateway), read and written as raw descriptor frames: ferryd's
   * own endpoints for inter-node hops (egress, ingress, reply proxies). The
   * chain must have a pool here; whoever uses the endpoint maps it.
   */
  openEndpoint(ident: EndpointIdent): NativeEndpoint {
    this.pool(ident.chainId);
    const id = ident.instanceId;
    if (this.instances.has(id) || this.gateways.has(id) || this.endpoints.has(id)) throw new Error(`instance id ${id} is in use`);
    const { instanceFd, peer } = this.register(ident);
    const endpoint = new native.Endpoint(instanceFd);
    this.endpoints.set(id, { chainId: ident.chainId, endpoint, peer });
    return endpoint;
  }

  /** A socket pair with the instance's end registered in the router under
   * ident; ferryd keeps the other end (the relay reads it). */
  private register(ident: EndpointIdent): { instanceFd: number; peer: NativeEndpoint } {
    const [instanceFd, peerFd] = native.endpointPair();
    const peer = new native.Endpoint(peerFd);
    try {
      this.router.addEndpoint({ ident, instanceFd, peer });
    } catch (err) {
      native.closeFd(instanceFd);
      peer.close();
      throw err;
    }
    return { instanceFd, peer };
  }

  closeEndpoint(instanceId: number): void {
    const ep = this.endpoints.get(instanceId);
    if (!ep) return;
    this.endpoints.delete(instanceId);
    this.router.removeEndpoint(instanceId);
    ep.endpoint.close();
    ep.peer.close();
  }

  setRoute(chainId: number, stage: number, targets: RouteTarget[]): void {
    this.router.setRoute(chainId, stage, targets);
  }

  allow(chainId: number, fromStage: number, toStage: number, allowed = true): void {
    this.router.allow(chainId, fromStage, toStage, allowed);
  }

  counters(instanceId: number): RouterCounters {
    return this.router.counters(instanceId);
  }

  instance(instanceId: number): RunningInstance | undefined {
    return this.instances.get(instanceId);
  }

  /** Ask an instance to stop (its endpoint closes) and wait for it. */
  async stop(instanceId: number, graceMs = 2000): Promise<void> {
    const inst = this.instances.get(instanceId);
    if (!inst) return;
    inst.peer.close();
    inst.child.kill('SIGTERM');
    const timer = setTimeout(() => inst.child.kill('SIGKILL'), graceMs);
    await inst.exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.stopKeeper();
    await Promise.all([...this.instances.keys()].map((id) => this.stop(id)));
    for (const id of [...this.gateways.keys()]) this.closeGateway(id);
    for (const id of [...this.endpoints.keys()]) this.closeEndpoint(id);
    this.router.close();
    for (const { pool } of this.pools.values()) pool.close();
    this.pools.clear();
    await Promise.all(this.releases);
    await this.sandbox.close();
  }
}
