/**
 * The chains this node's HTTP gateway serves. ProgramChain with a gateway
 * config opens a gateway endpoint for the chain (in the sockhash under the
 * control plane's gateway_instance_id), wraps it in an Injector and lists it
 * here under the chain's tenant (from its CreatePool) and name; two tenants'
 * chains of the same name are two entries; ProgramChain without one, or DeleteChain,
 * closes it. The Injector also hears which requests a crashed instance
 * interrupted (it is the chain's InterruptSink), and fails them at once.
 */
import { DEFAULT_TENANT, formatChainRef } from '../chain/tenant.js';
import type { NativeInstance } from '../dataplane/native.js';
import type { ChainDirectory, ServedChain } from '../gateway/directory.js';
import { Injector } from '../gateway/injector.js';
import type { InterruptSinks } from './interrupts.js';
import { alreadyExists } from './rpc-error.js';

export interface GatewayEndpoints {
  openGateway(chainId: number, instanceId: number): NativeInstance;
  closeGateway(instanceId: number): void;
}

export interface GatewaySettings {
  name: string;
  tenant: string;
  entryStage: number;
  /** Already resolved against the pool (never 0). */
  maxBodyBytes: number;
  timeoutMs: number;
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
  ) {}

  lookup(name: string, tenant = DEFAULT_TENANT): ServedChain | undefined {
    for (const s of this.byChain.values()) if (s.name === name && s.tenant === tenant) return s;
    return undefined;
  }

  list(tenant?: string): ServedChain[] {
    return [...this.byChain.values()].filter((s) => tenant === undefined || s.tenant === tenant).sort((a, b) => a.name.localeCompare(b.name));
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
      this.byChain.set(chainId, { ...old, ...settings(g) });
      return;
    }
    const injector = new Injector(this.endpoints.openGateway(chainId, g.gatewayInstanceId));
    const removeSink = this.sinks.add(chainId, injector);
    if (old) this.close(old);
    this.byChain.set(chainId, { ...settings(g), chainId, injector, gatewayInstanceId: g.gatewayInstanceId, removeSink });
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

function settings(g: GatewaySettings): Omit<ServedChain, 'chainId' | 'injector'> {
  return { name: g.name, tenant: g.tenant, entryStage: g.entryStage, maxBodyBytes: g.maxBodyBytes, timeoutMs: g.timeoutMs };
}
