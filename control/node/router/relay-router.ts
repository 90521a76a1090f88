/**
 * Fallback router: ferryd reads each instance's descriptors from its end of
 * the endpoint and forwards them itself, with the same checks, picks and
 * counters as the eBPF program. Used where eBPF cannot load.
 *
 * Refusals behave as in the eBPF program: the request becomes an error reply
 * to its gateway (or goes back to its sender), never a failed send.
 */
import {
  DESC_SIZE,
  errorFlags,
  MAX_HOPS,
  MAX_REPLICAS,
  STAGE_REPLY,
  Status,
  frameView,
} from '../../dataplane/descriptor.js';
import { native, type DropReason, type RouteTarget, type RouterCounters } from '../../dataplane/native.js';
import { pickWeighted, requestKey, ringPick, totalWeight, type Ring } from './pick.js';
import { emptyCounters, type EndpointRegistration, type Router } from './router.js';

const F = native.layout.fields;

export class RelayRouter implements Router {
  readonly mode = 'fallback' as const;
  readonly description = 'userspace relay in ferryd (eBPF unavailable)';
  private readonly endpoints = new Map<number, EndpointRegistration>();
  private readonly routes = new Map<string, RouteTarget[]>();
  private readonly rings = new Map<string, Ring<number>>();
  private readonly allowed = new Set<string>();
  private readonly stats = new Map<number, RouterCounters>();

  addEndpoint(reg: EndpointRegistration): void {
    const id = reg.ident.instanceId;
    if (id <= 0 || id >= native.layout.maxInstances) throw new RangeError(`instance id ${id} out of range`);
    this.endpoints.set(id, reg);
    this.stats.set(id, emptyCounters());
    let garbage = 0;
    reg.peer.start((n) => {
      if (n < 0) return; // instance closed its end; the data plane reaps it
      if (reg.peer.garbageBytes > garbage) {
        // Bytes that were no descriptor (or a truncated one) were skipped.
        garbage = reg.peer.garbageBytes;
        this.stats.get(id)!.drops.malformed++;
      }
      for (let i = 0; i < n; i++) this.route(reg, frameView(reg.peer.rx, i));
    });
  }

  removeEndpoint(instanceId: number): void {
    this.endpoints.get(instanceId)?.peer.stop();
    this.endpoints.delete(instanceId);
  }

  setRoute(chainId: number, stage: number, targets: RouteTarget[]): void {
    if (targets.length > MAX_REPLICAS) throw new RangeError(`at most ${MAX_REPLICAS} instances per stage`);
    totalWeight(targets.map((t) => t.weight));
    this.routes.set(`${chainId}/${stage}`, targets.map((t) => ({ ...t })));
  }

  deleteRoute(chainId: number, stage: number): void {
    this.routes.delete(`${chainId}/${stage}`);
  }

  setRing(chainId: number, stage: number, ring: Ring<number>): void {
    this.rings.set(`${chainId}/${stage}`, { points: [...ring.points], owners: [...ring.owners] });
  }

  deleteRing(chainId: number, stage: number): void {
    this.rings.delete(`${chainId}/${stage}`);
  }

  allow(chainId: number, fromStage: number, toStage: number, allowed = true): void {
    const key = `${chainId}/${fromStage}/${toStage}`;
    if (allowed) this.allowed.add(key);
    else this.allowed.delete(key);
  }

  counters(instanceId: number): RouterCounters {
    return structuredClone(this.stats.get(instanceId) ?? emptyCounters());
  }

  close(): void {
    for (const reg of this.endpoints.values()) reg.peer.stop();
    this.endpoints.clear();
  }

  /** The eBPF program's logic, step for step (bpf/sk_msg_router.bpf.c). */
  private route(from: EndpointRegistration, frame: Uint8Array): void {
    const v = new DataView(frame.buffer, frame.byteOffset, DESC_SIZE);
    const sender = from.ident;
    const me = this.stats.get(sender.instanceId) ?? emptyCounters();
    if (v.getUint32(F.magic, true) !== native.layout.magic || v.getUint16(F.version, true) !== native.layout.version) {
      me.drops.malformed++; // nothing in it can be trusted, not even reply_to
      return;
    }
    const chainId = v.getUint32(F.chainId, true);
    const stage = v.getUint16(F.stage, true);
    const hops = v.getUint16(F.hopCount, true);
    if (chainId !== sender.chainId) return void me.drops.chainMismatch++;
    if (hops >= MAX_HOPS) return this.failRequest(from, v, frame, 'hopLimit', Status.noRoute, 0);
    if (!this.allowed.has(`${chainId}/${sender.stage}/${stage}`))
      return this.failRequest(from, v, frame, 'notAllowed', Status.noRoute, 0);

    let target: number | undefined;
    if (stage === STAGE_REPLY) {
      target = v.getUint32(F.replyTo, true);
      if (this.endpoints.get(target)?.ident.role !== 'gateway')
        return this.failRequest(from, v, frame, 'noRoute', Status.noRoute, 0);
    } else {
      target = this.pickTarget(`${chainId}/${stage}`, v);
      if (target === undefined) return this.failRequest(from, v, frame, 'noRoute', Status.noRoute, 0);
    }
    const to = this.endpoints.get(target);
    v.setUint16(F.fromStage, sender.stage, true);
    v.setUint16(F.hopCount, hops + 1, true);
    if (!to || to.peer.send(frame) !== 0) {
      v.setUint16(F.hopCount, hops, true);
      return this.failRequest(from, v, frame, 'deadPeer', Status.instanceDied, target);
    }
    const bytes = v.getUint32(F.length, true);
    me.txMsgs++;
    me.txBytes += bytes;
    const rx = this.stats.get(target);
    if (rx) {
      rx.rxMsgs++;
      rx.rxBytes += bytes;
    }
  }

  /** By the stage's ring when the request carries a key, else by weight
   * (pick_target in the eBPF program). */
  private pickTarget(route: string, v: DataView): number | undefined {
    const key = requestKey(v.getBigUint64(F.requestId, true));
    const ring = key !== 0 ? this.rings.get(route) : undefined;
    return (ring && ringPick(ring, key)) ?? pickWeighted(this.routes.get(route) ?? [])?.instance;
  }

  /** As the eBPF program does: turn the descriptor into an error reply to
   * the waiting gateway; when none can take it, hand it back to the sender
   * with reply_to 0, whose runtime then frees the buffer. */
  private failRequest(from: EndpointRegistration, v: DataView, frame: Uint8Array, reason: DropReason, status: number, dead: number): void {
    const me = this.stats.get(from.ident.instanceId);
    if (me) me.drops[reason]++;
    v.setUint16(F.flags, errorFlags(v.getUint16(F.flags, true)), true);
    v.setUint16(F.status, status, true);
    v.setUint32(F.length, 0, true);
    v.setUint16(F.stage, STAGE_REPLY, true);
    v.setUint16(F.fromStage, from.ident.stage, true);
    const gwId = v.getUint32(F.replyTo, true);
    const gw = this.endpoints.get(gwId);
    if (gwId !== dead && gw?.ident.role === 'gateway' && gw.peer.send(frame) === 0) {
      const rx = this.stats.get(gwId);
      if (rx) rx.rxMsgs++;
      return;
    }
    v.setUint32(F.replyTo, 0, true);
    from.peer.send(frame);
  }
}
