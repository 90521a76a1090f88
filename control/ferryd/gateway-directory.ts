/**
 * The chains this node's HTTP gateway serves. ProgramChain with a gateway
 * config opens a gateway endpoint for the chain (in the sockhash under the
 * control plane's gateway_instance_id), wraps it in an Injector and lists it
 * here under the chain's name; ProgramChain without one, or DeleteChain,
 * closes it. The Injector also hears which requests a crashed instance
 * interrupted (it is the chain's InterruptSink), and fails them at once.
 */
import type { NativeInstance } from '../dataplane/native.js';
import type { ChainDirectory, ServedChain, Unavailable } from '../gateway/directory.js';
import { Injector } from '../gateway/injector.js';
import type { InterruptSinks } from './interrupts.js';
import { alreadyExists } from './rpc-error.js';

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
}

const ALWAYS_UP: ChainHealth = { unavailable: () => undefined, whenReady: async () => undefined };

export interface GatewaySettings {
  name: string;
  entryStage: number;
  /** Already resolved against the pool (never 0). */
  maxBodyBytes: number;
  timeoutMs: number;
  bodyTimeoutMs: number;
  gatewayInstanceId: number;
}

interface Served extends ServedChain {
  gatewayInstanceId: number;
  removeSink: () => void;
}

export class GatewayDirectory implements ChainDirectory {
  private readonly byChain = new Map<number, Served>();

  constructor(
    private readonly endpoints: GatewayEndpoints,
    private readonly sinks: InterruptSinks,
    private readonly health: ChainHealth = ALWAYS_UP,
  ) {}

  lookup(name: string): ServedChain | undefined {
    for (const s of this.byChain.values()) if (s.name === name) return s;
    return undefined;
  }

  list(): ServedChain[] {
    return [...this.byChain.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  served(chainId: number): ServedChain | undefined {
    return this.byChain.get(chainId);
  }

  /** The chain id whose gateway endpoint has this instance id, if any. */
  chainOfGateway(instanceId: number): number | undefined {
    for (const [chainId, s] of this.byChain) if (s.gatewayInstanceId === instanceId) return chainId;
    return undefined;
  }

  /** Throws ALREADY_EXISTS when serve() would clash with another chain. */
  checkServe(chainId: number, g: GatewaySettings): void {
    const byName = this.lookup(g.name);
    if (byName && byName.chainId !== chainId)
      throw alreadyExists(`gateway.chain_name: chain ${byName.chainId} is already served as "${g.name}" on this node`);
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
      return;
    }
    const pool = this.endpoints.elasticPool(chainId);
    const injector = new Injector(this.endpoints.openGateway(chainId, g.gatewayInstanceId), { relieve: (size) => pool.relieve(size) });
    const removeSink = this.sinks.add(chainId, injector);
    if (old) this.close(old);
    const self: Served = {
      ...settings(g),
      chainId,
      injector,
      gatewayInstanceId: g.gatewayInstanceId,
      removeSink,
      unavailable: () => this.health.unavailable(chainId),
      whenReady: (timeoutMs) => this.health.whenReady(chainId, timeoutMs),
    };
    this.byChain.set(chainId, self);
  }

  /** Stop serving the chain: requests waiting on it fail. */
  unserve(chainId: number): boolean {
    const s = this.byChain.get(chainId);
    if (!s) return false;
    this.byChain.delete(chainId);
    this.close(s);
    return true;
  }

  closeAll(): void {
    for (const chainId of [...this.byChain.keys()]) this.unserve(chainId);
  }

  private close(s: Served): void {
    s.removeSink();
    // Injector first: it fails what is pending and stops reading; then the
    // data plane unregisters the endpoint.
    s.injector.close();
    this.endpoints.closeGateway(s.gatewayInstanceId);
  }
}

function settings(g: GatewaySettings): Omit<ServedChain, 'chainId' | 'injector' | 'unavailable' | 'whenReady'> {
  return { name: g.name, entryStage: g.entryStage, maxBodyBytes: g.maxBodyBytes, timeoutMs: g.timeoutMs, bodyTimeoutMs: g.bodyTimeoutMs };
}
