/** Router backed by the pinned eBPF SK_MSG program (bpf/sk_msg_router.bpf.c). */
import { native, type NativeRouter, type RouteTarget, type RouterCounters } from '../../dataplane/native.js';
import type { Ring } from './pick.js';
import type { EndpointRegistration, Router } from './router.js';

export interface EbpfRouterOptions {
  object: string;
  pinDir: string;
  forceReload?: boolean;
}

export class EbpfRouter implements Router {
  readonly mode = 'ebpf' as const;
  readonly description: string;
  private readonly bpf: NativeRouter;
  private closed = false;

  constructor(opts: EbpfRouterOptions) {
    this.bpf = new native.Router(opts);
    this.description =
      `eBPF SK_MSG router on a sockhash, attached with ${this.bpf.attach === 'link' ? 'bpf_link' : 'bpf_prog_attach'}, ` +
      `${this.bpf.reused ? 'reusing' : 'pinned at'} ${opts.pinDir}`;
  }

  get reused(): boolean {
    return this.bpf.reused;
  }

  addEndpoint(reg: EndpointRegistration): void {
    this.bpf.addEndpoint(reg.instanceFd, reg.ident);
  }

  removeEndpoint(instanceId: number): void {
    if (this.closed) return; // ferryd let go of the router; the pins stay as they are
    // ferryd closed its copy of the instance's fd after the spawn, so this
    // goes by id; the socket's identity (socket-local storage) goes with
    // the socket itself.
    this.bpf.removeEndpoint(-1, instanceId);
  }

  setRoute(chainId: number, stage: number, targets: RouteTarget[]): void {
    this.bpf.setRoute(chainId, stage, targets);
  }

  deleteRoute(chainId: number, stage: number): void {
    this.bpf.deleteRoute(chainId, stage);
  }

  setRing(chainId: number, stage: number, ring: Ring<number>): void {
    this.bpf.setRing(chainId, stage, [...ring.points], [...ring.owners]);
  }

  deleteRing(chainId: number, stage: number): void {
    this.bpf.deleteRing(chainId, stage);
  }

  allow(chainId: number, fromStage: number, toStage: number, allowed = true): void {
    this.bpf.allow(chainId, fromStage, toStage, allowed);
  }

  counters(instanceId: number): RouterCounters {
    return this.bpf.counters(instanceId);
  }

  close(): void {
    // Pinned objects stay: instances keep routing while ferryd restarts.
    this.closed = true;
    this.bpf.close();
  }
}
