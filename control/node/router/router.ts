/**
 * Extension point: how descriptors get from one instance to the next on this
 * node. Two implementations with the same behaviour seen from an instance:
 *  - ebpf-router: the SK_MSG program redirects in the kernel (zero hops
 *    through ferryd);
 *  - relay-router: ferryd reads every descriptor and forwards it itself,
 *    for hosts where eBPF cannot load.
 */
import type { EndpointIdent, NativeEndpoint, RouteTarget, RouterCounters } from '../../dataplane/native.js';
import type { Ring } from './pick.js';

export type DataPlaneMode = 'ebpf' | 'fallback';

export interface EndpointRegistration {
  ident: EndpointIdent;
  /** The instance's end of the socket pair (in the sockhash in eBPF mode). */
  instanceFd: number;
  /** ferryd's end, owned by the data plane; the relay reads it. */
  peer: NativeEndpoint;
}

export interface Router {
  readonly mode: DataPlaneMode;
  /** One line for people: what routes, and how it is attached. */
  readonly description: string;
  addEndpoint(reg: EndpointRegistration): void;
  removeEndpoint(instanceId: number): void;
  setRoute(chainId: number, stage: number, targets: RouteTarget[]): void;
  deleteRoute(chainId: number, stage: number): void;
  /** Keyed requests to the stage go by this consistent-hash ring (owners:
   * instance ids of its route); without one, every request goes by weight. */
  setRing(chainId: number, stage: number, ring: Ring<number>): void;
  deleteRing(chainId: number, stage: number): void;
  allow(chainId: number, fromStage: number, toStage: number, allowed?: boolean): void;
  counters(instanceId: number): RouterCounters;
  close(): void;
}

export function emptyCounters(): RouterCounters {
  return {
    rxMsgs: 0,
    rxBytes: 0,
    txMsgs: 0,
    txBytes: 0,
    drops: { malformed: 0, unknownSender: 0, chainMismatch: 0, notAllowed: 0, noRoute: 0, deadPeer: 0, hopLimit: 0 },
  };
}
