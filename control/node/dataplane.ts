/**
 * The node's data plane as ferryd runs it: one pool per chain, one endpoint
 * per instance, the router (eBPF or relay), and the instance processes.
 * It keeps what is needed to clean up after an instance: when one exits, its
 * endpoint is unregistered and every buffer it held is reclaimed.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { STAGE_REPLY } from '../dataplane/descriptor.js';
import {
  native,
  type EndpointIdent,
  type NativeEndpoint,
  type NativeInstance,
  type NativePool,
  type RouteTarget,
  type RouterCounters,
  type SizeClass,
} from '../dataplane/native.js';
import { createLogger, type Logger } from '../log.js';
import { nextSpec, runtimeCommand, runtimeFiles, spawnInstanceProcess, type Runtime, type StageRef } from './instance-process.js';
import type { Router } from './router/router.js';
import { selectRouter, type ModeRequest } from './router/select.js';
import { DEFAULT_TENANT, type FileNeed, type Sandbox, type SandboxRequest } from './sandbox/sandbox.js';
import { selectSandbox, type SandboxSelection } from './sandbox/select.js';

/** 2 KiB to 4 MiB; about 46 MiB of address space, touched only when used. */
export const DEFAULT_SIZE_CLASSES: SizeClass[] = [
  { size: 2048, count: 1024 },
  { size: 65536, count: 128 },
  { size: 1 << 20, count: 16 },
  { size: 4 << 20, count: 4 },
];

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
  /** Request tags (low 32 bits of request ids) those buffers carried: the
   * requests the exit interrupted. */
  interrupted: number[];
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
  /** The user it runs as; undefined: ferryd's own (sandbox off). */
  uid?: number;
}

export interface DataPlaneOptions {
  mode?: ModeRequest;
  pinDir?: string;
  forceReload?: boolean;
  log?: Logger;
  /** This node's name (names its cgroup tree). */
  node?: string;
  /** How instances are confined: a mode ("auto" by default, or
   * $FERRY_SANDBOX), its settings, or a sandbox made elsewhere. */
  sandbox?: SandboxRequest | Omit<SandboxSelection, 'node' | 'log'> | Sandbox;
  /** How long a new instance runs before its CPU quota applies (0: at
   * once). A Node runtime needs about half a CPU-second to start: under a
   * 50m quota that alone would take 10 s. */
  cpuStartupBoostMs?: number;
}

export const DEFAULT_CPU_STARTUP_BOOST_MS = 10_000;

export class NodeDataPlane extends EventEmitter {
  readonly router: Router;
  readonly sandbox: Sandbox;
  readonly log: Logger;
  private readonly pools = new Map<number, NativePool>();
  private readonly instances = new Map<number, RunningInstance>();
  private readonly gateways = new Map<number, { instance: NativeInstance; peer: NativeEndpoint }>();
  /** ferryd's own endpoints (openEndpoint), by instance id. */
  private readonly endpoints = new Map<number, { chainId: number; endpoint: NativeEndpoint; peer: NativeEndpoint }>();
  /** Sandbox clean-ups (cgroup removal) of exited instances still running. */
  private readonly releases = new Set<Promise<void>>();
  private launches = 0;
  private readonly cpuStartupBoostMs: number;

  constructor(opts: DataPlaneOptions = {}) {
    super();
    this.log = opts.log ?? createLogger({ component: 'ferryd' });
    this.router = selectRouter({ mode: opts.mode, pinDir: opts.pinDir, forceReload: opts.forceReload, log: this.log });
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

  createPool(chainId: number, name: string, classes: SizeClass[] = DEFAULT_SIZE_CLASSES): NativePool {
    if (this.pools.has(chainId)) throw new Error(`chain ${chainId} already has a pool on this node`);
    const pool = new native.Pool({ name: `ferry-${name}`, classes });
    this.pools.set(chainId, pool);
    return pool;
  }

  pool(chainId: number): NativePool {
    const pool = this.pools.get(chainId);
    if (!pool) throw new Error(`chain ${chainId} has no pool on this node: create it first`);
    return pool;
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
    pool.close();
    return true;
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
    const command = spec.command ?? runtimeCommand(spec.runtime ?? 'node', spec.handler ?? '');
    const tenant = spec.tenant || DEFAULT_TENANT;
    const unreachable = this.unreachable(spec);
    if (unreachable) throw new Error(unreachable);
    const r = spec.resources ?? {};
    const limits = { cpuMilli: r.cpuMilli ?? 0, memoryMb: r.memoryMb ?? 0, pids: r.pids || this.sandbox.defaultPids, deferCpuQuota: this.cpuStartupBoostMs > 0 };
    const launch = this.sandbox.prepare({ name: `${spec.instanceId}.${++this.launches}`, tenant, limits });
    let registered: { instanceFd: number; peer: NativeEndpoint } | undefined;
    let child: ChildProcess;
    try {
      registered = this.register({ instanceId: spec.instanceId, chainId: spec.chainId, stage: spec.stage, role: spec.role ?? 'instance' });
      child = spawnInstanceProcess({ ...spec, command, endpointFd: registered.instanceFd, poolFd: pool.fd, prefix: launch.prefix });
    } catch (err) {
      if (registered) {
        this.router.removeEndpoint(spec.instanceId);
        native.closeFd(registered.instanceFd);
        registered.peer.close();
      }
      this.release(launch.release());
      throw err;
    }
    const { instanceFd, peer } = registered;
    // The child has its own copy; ours would keep a dead instance's socket
    // alive in the sockhash and hide its death from the router.
    native.closeFd(instanceFd);
    const boost = limits.deferCpuQuota ? setTimeout(() => launch.startupOver(), this.cpuStartupBoostMs).unref() : undefined;

    let errText = '';
    child.stderr?.on('data', (d: Buffer) => {
      errText = (errText + d.toString()).slice(-8192);
    });
    child.stdout?.on('data', (d: Buffer) => this.log.debug('instance output', { instance: spec.instanceId, out: d.toString() }));
    const log = this.log.child({ instance: spec.instanceId, stage: spec.stageName, chain: spec.chainId });
    const exited = new Promise<InstanceExit>((resolve) => {
      child.on('exit', (code, signal) => {
        clearTimeout(boost);
        // Whatever the router says, the buffers must still be reclaimed.
        try {
          this.router.removeEndpoint(spec.instanceId);
        } catch (err) {
          log.warn('could not unregister endpoint', { error: (err as Error).message });
        }
        peer.close();
        this.instances.delete(spec.instanceId);
        const { count: reclaimed, tags: interrupted } = pool.reclaimTagged(spec.instanceId);
        // Before its cgroup goes, which takes the OOM count with it.
        const oomKilled = launch.oomKilled();
        this.release(launch.release());
        const fields = { code, signal, oomKilled: oomKilled || undefined, memoryLimitMb: oomKilled ? limits.memoryMb : undefined, reclaimedBuffers: reclaimed, interrupted: interrupted.length, stderr: errText.trim() || undefined };
        if (code === 0 || signal === 'SIGTERM') log.info('instance exited', fields);
        else log.warn('instance died', fields);
        const exit: InstanceExit = { code, signal, reclaimed, interrupted, oomKilled };
        this.emit('instance-exit', spec.instanceId, exit);
        resolve(exit);
      });
    });
    const running: RunningInstance = { spec, pid: child.pid ?? -1, child, peer, exited, stderr: () => errText, uid: launch.uid };
    this.instances.set(spec.instanceId, running);
    log.info('instance started', { pid: running.pid, runtime: spec.runtime ?? 'command', tenant, uid: launch.uid, limits });
    return running;
  }

  /** Keep a clean-up running in the background until close() waits for it. */
  private release(p: Promise<void>): void {
    const tracked = p
      .catch((err: Error) => this.log.warn('sandbox clean-up failed', { error: err.message }))
      .finally(() => this.releases.delete(tracked));
    this.releases.add(tracked);
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
    await Promise.all([...this.instances.keys()].map((id) => this.stop(id)));
    for (const id of [...this.gateways.keys()]) this.closeGateway(id);
    for (const id of [...this.endpoints.keys()]) this.closeEndpoint(id);
    this.router.close();
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
    await Promise.all(this.releases);
    await this.sandbox.close();
  }
}
