/**
 * The chains this node's HTTP gateway serves. ProgramChain with a gateway
 * config opens a gateway endpoint for the chain (in the sockhash under the
 * control plane's gateway_instance_id), wraps it in an Injector and lists it
 * here under the chain's tenant (from its CreatePool) and name; two tenants'
 * chains of the same name are two entries; ProgramChain without one, or DeleteChain,
 * closes it. The Injector also hears which requests a crashed instance
 * interrupted (it is the chain's InterruptSink), and fails them at once.
 *
 * With a ServedRecord, what it serves is also kept on disk; a new ferryd
 * reads it back and, for a grace period, calls those chains "restoring"
 * (the gateway answers 503 with Retry-After) until ProgramChain serves
 * them again. After the grace period the ones not back are forgotten.
 */
import type { RequestKeySource } from '../balance/registry.js';
import { DEFAULT_TENANT, formatChainRef } from '../chain/tenant.js';
import type { NativeInstance } from '../dataplane/native.js';
import type { ChainDirectory, ServedChain, Unavailable } from '../gateway/directory.js';
import { Injector } from '../gateway/injector.js';
import { GatewayMeter } from '../gateway/meter.js';
import { HoldQueue } from '../gateway/hold.js';
import type { Logger } from '../log.js';
import type { InterruptSinks } from './interrupts.js';
import type { IdleStage } from './proto.js';
import { alreadyExists } from './rpc-error.js';
import type { ServedEntry, ServedRecord } from './served-record.js';

export interface RestoreOptions {
  record: ServedRecord;
  /** How long chains served before a restart answer 503 restoring. */
  graceMs: number;
  log: Logger;
}

export interface GatewayEndpoints {
  openGateway(chainId: number, instanceId: number): NativeInstance;
  closeGateway(instanceId: number): void;
  /** The chain's pool, to grow when a body finds it exhausted. */
  elasticPool(chainId: number): { relieve(size: number): boolean };
}

/** Whether a chain can take requests on this node now. */
export interface ChainHealth {
  unavailable(chainId: number): Unavailable | undefined;
  whenReady(chainId: number, timeoutMs: number): Promise<Unavailable | undefined>;
  /** Requests wait for the chain's idle stages: ask for instances. */
  demand(chainId: number): void;
}

const ALWAYS_UP: ChainHealth = { unavailable: () => undefined, whenReady: async () => undefined, demand: () => undefined };

export interface GatewaySettings {
  name: string;
  tenant: string;
  entryStage: number;
  /** Already resolved against the pool (never 0). */
  maxBodyBytes: number;
  timeoutMs: number;
  bodyTimeoutMs: number;
  gatewayInstanceId: number;
  /** Stages with no instance anywhere (scaled to zero). */
  idle: IdleStage[];
  holdRequests: number;
  holdTimeoutMs: number;
  /** Where the request key is read (a consistent-hash stage). */
  requestKey?: RequestKeySource;
  /** An aggregation job's chain: served under /jobs/ (control/ferryd/jobs/), not /chains/. */
  job?: boolean;
}

interface Served extends ServedChain {
  gatewayInstanceId: number;
  idle: IdleStage[];
  hold: HoldQueue;
  removeSink: () => void;
  job?: boolean;
}

export class GatewayDirectory implements ChainDirectory {
  private readonly byChain = new Map<number, Served>();
  /** Served before the restart, not yet served again. */
  private readonly comingBack = new Map<string, ServedEntry>();
  private graceTimer?: NodeJS.Timeout;

  constructor(
    private readonly endpoints: GatewayEndpoints,
    private readonly sinks: InterruptSinks,
    private readonly restore?: RestoreOptions,
    private readonly health: ChainHealth = ALWAYS_UP,
  ) {
    if (!restore) return;
    for (const e of restore.record.load()) this.comingBack.set(e.name, e);
    if (this.comingBack.size === 0) return;
    restore.log.info('restoring the chains this gateway served before; 503 restoring until reprogrammed', {
      chains: [...this.comingBack.keys()],
      graceMs: restore.graceMs,
    });
    this.graceTimer = setTimeout(() => this.endGrace(), restore.graceMs);
    this.graceTimer.unref();
  }

  lookup(name: string, tenant = DEFAULT_TENANT): ServedChain | undefined {
    for (const s of this.byChain.values()) if (s.name === name && s.tenant === tenant && !s.job) return s;
    return undefined;
  }

  restoring(name: string, tenant = DEFAULT_TENANT): boolean {
    return this.comingBack.has(formatChainRef({ tenant, name })) && !this.lookup(name, tenant);
  }

  list(tenant?: string): ServedChain[] {
    return [...this.byChain.values()].filter((s) => !s.job && (tenant === undefined || s.tenant === tenant)).sort((a, b) => a.name.localeCompare(b.name));
  }

  served(chainId: number): ServedChain | undefined {
    return this.byChain.get(chainId);
  }

  /** The chain's stages scaled to zero, as its ProgramChain said. */
  idleStages(chainId: number): IdleStage[] {
    return this.byChain.get(chainId)?.idle ?? [];
  }

  /** The chain id whose gateway endpoint has this instance id, if any. */
  chainOfGateway(instanceId: number): number | undefined {
    for (const [chainId, s] of this.byChain) if (s.gatewayInstanceId === instanceId) return chainId;
    return undefined;
  }

  /** Throws ALREADY_EXISTS when serve() would clash with another chain. */
  checkServe(chainId: number, g: GatewaySettings): void {
    const byName = this.lookup(g.name, g.tenant);
    if (byName && byName.chainId !== chainId)
      throw alreadyExists(`gateway.chain_name: chain ${byName.chainId} is already served as "${formatChainRef(g)}" on this node`);
    const owner = this.chainOfGateway(g.gatewayInstanceId);
    if (owner !== undefined && owner !== chainId)
      throw alreadyExists(`gateway.gateway_instance_id: ${g.gatewayInstanceId} is chain ${owner}'s gateway on this node`);
  }

  /** Serve the chain with these settings. The endpoint stays when its id
   * does not change, so requests in flight keep their injector. */
  serve(chainId: number, g: GatewaySettings): void {
    this.checkServe(chainId, g);
    const old = this.byChain.get(chainId);
    if (old && old.gatewayInstanceId === g.gatewayInstanceId) {
      Object.assign(old, settings(g));
    } else {
      const pool = this.endpoints.elasticPool(chainId);
      const injector = new Injector(this.endpoints.openGateway(chainId, g.gatewayInstanceId), { relieve: (size) => pool.relieve(size) });
      const removeSink = this.sinks.add(chainId, injector);
      if (old) this.close(old);
      const self: Served = {
        ...settings(g),
        chainId,
        injector,
        // The chain's counts survive a new gateway endpoint for it.
        meter: old?.meter ?? new GatewayMeter(),
        hold: old?.hold ?? new HoldQueue(() => this.health.demand(chainId)),
        gatewayInstanceId: g.gatewayInstanceId,
        removeSink,
        unavailable: () => this.health.unavailable(chainId),
        whenReady: (timeoutMs) => this.health.whenReady(chainId, timeoutMs),
      };
      this.byChain.set(chainId, self);
    }
    // The record names chains as TENANT/NAME ("NAME" for the default tenant).
    if (this.comingBack.delete(formatChainRef(g))) this.restore?.log.info('chain restored', { chain: chainId, name: formatChainRef(g) });
    if (!old || old.name !== g.name || old.tenant !== g.tenant) this.persist();
  }

  /** Stop serving the chain (it was deleted, or moved to another node's
   * gateway): requests waiting on it fail, and it is not restored. */
  unserve(chainId: number): boolean {
    let forgot = false;
    for (const [name, e] of this.comingBack) if (e.chainId === chainId) forgot = this.comingBack.delete(name) || forgot;
    const s = this.byChain.get(chainId);
    if (s) {
      this.byChain.delete(chainId);
      s.hold.stop();
      this.close(s);
    }
    if (s || forgot) this.persist();
    return s !== undefined;
  }

  /** ferryd is stopping: close everything, but keep the record, so the
   * next ferryd restores what this one served. */
  closeAll(): void {
    clearTimeout(this.graceTimer);
    for (const s of this.byChain.values()) {
      s.hold.stop();
      this.close(s);
    }
    this.byChain.clear();
  }

  private endGrace(): void {
    if (this.comingBack.size === 0) return;
    this.restore?.log.warn('chains served before the restart were not reprogrammed in time; they answer 404 now', {
      chains: [...this.comingBack.keys()],
      graceMs: this.restore.graceMs,
    });
    this.comingBack.clear();
    this.persist();
  }

  /** What is served, and what is still coming back (a second restart
   * before it came back must not forget it). */
  private persist(): void {
    if (!this.restore) return;
    const served = [...this.byChain.values()].map((s) => ({ name: formatChainRef(s), chainId: s.chainId }));
    this.restore.record.save([...served, ...this.comingBack.values()].sort((a, b) => a.name.localeCompare(b.name)));
  }

  private close(s: Served): void {
    s.removeSink();
    // Injector first: it fails what is pending and stops reading; then the
    // data plane unregisters the endpoint.
    s.injector.close();
    this.endpoints.closeGateway(s.gatewayInstanceId);
  }
}

function settings(g: GatewaySettings) {
  return {
    name: g.name,
    tenant: g.tenant,
    entryStage: g.entryStage,
    maxBodyBytes: g.maxBodyBytes,
    timeoutMs: g.timeoutMs,
    bodyTimeoutMs: g.bodyTimeoutMs,
    idle: g.idle,
    holdRequests: g.holdRequests,
    holdTimeoutMs: g.holdTimeoutMs,
    requestKey: g.requestKey,
    job: g.job,
  };
}
