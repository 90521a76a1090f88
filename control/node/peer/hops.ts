/**
 * Inter-node hops: where the data plane meets the peer link.
 *
 * Per chain, ferryd holds three kinds of endpoints of its own, registered in
 * the sockhash like any instance:
 *  - egress (one per chain, id from the infra block): the route of every
 *    stage served only on other nodes points here. It takes the descriptor's
 *    buffer, ships descriptor + payload to a peer serving the stage (picked
 *    by weight among the connected ones), frees the buffer, and remembers
 *    the request on that connection until something comes back for it;
 *  - ingress (one per chain and sending stage, id from the infra block):
 *    a frame from a peer lands in a fresh buffer of the local pool and is
 *    sent from an ingress whose identity is (chain, fromStage), so the local
 *    router checks the allow-list and routes it as if the sending stage ran
 *    here: to a local instance, or to REPLY and the gateway in reply_to;
 *  - reply proxies (one per gateway of the chain on another node, under that
 *    gateway's own id, role gateway): a reply here for a remote gateway goes
 *    into the proxy and on to the gateway's node as a reply frame.
 *
 * Payloads cross without a user-space copy on plain links: the egress and
 * proxies write a request's pool buffer to the socket as it lies and free
 * it when the write completed (a peer that stops reading is cut before the
 * buffer's deadline, see connection.ts), and a frame from a peer is read
 * straight into a buffer reserved from its header (reserve()).
 *
 * Failures answer the caller, never vanish: a stage with no connected peer,
 * a frame that cannot land (no such chain, pool exhausted) and the requests
 * in flight to a peer that went away all become error replies to the
 * request's gateway. What cannot even be answered (a reply for a gateway
 * whose node is gone) is counted and logged.
 */
import { decodeDescriptor, DESC_SIZE, encodeDescriptor, errorFlags, FLAG_ERROR, MAX_INSTANCES, STAGE_REPLY, Status, statusName, type Descriptor } from '../../dataplane/descriptor.js';
import { errorCode, native, type BufferRef, type EndpointIdent, type NativeEndpoint, type NativePool } from '../../dataplane/native.js';
import type { Logger } from '../../log.js';
import type { InFlight, PeerConnection } from './connection.js';
import { encodeFrame, FrameType, type Frame, type FrameHeader } from './frame.js';
import type { Landing } from './frame-receiver.js';
import { EgressMeter } from './egress-meter.js';
import { IdBlock } from './id-block.js';
import { pickWeighted, requestKey, ringPick, type Ring } from '../router/pick.js';
import type { PeerLink } from './link.js';

/** What hops need of the node's data plane (NodeDataPlane). */
export interface HopDataPlane {
  openEndpoint(ident: EndpointIdent): NativeEndpoint;
  closeEndpoint(instanceId: number): void;
  pool(chainId: number): NativePool;
  hasPool(chainId: number): boolean;
  /** How long a request of the chain may hold buffers on this node. */
  lifetimeMs?(chainId: number): number;
}

export interface NodeWeight {
  node: string;
  weight: number;
}

/** What the egress uses for a remote stage: the nodes with the weights the
 * balance policy made of the control plane's, and a ring over the nodes
 * when the stage hashes a request key. */
export interface ShapedNodes {
  nodes: NodeWeight[];
  ring?: Ring<string>;
}

/** Turns a remote stage's base weights into what the egress uses. */
export type NodeShaper = (chainId: number, stage: number, nodes: NodeWeight[]) => ShapedNodes;

export interface RemoteChain {
  chainId: number;
  /** Stages with targets on other nodes: which nodes, with what weight. */
  remoteStages: Map<number, NodeWeight[]>;
  /** The chain's gateways on other nodes (possible reply_to of requests here). */
  remoteGateways: { instance: number; node: string }[];
}

export interface HopCounters {
  /** Requests shipped to a peer. */
  forwarded: number;
  /** Replies shipped to a remote gateway's node. */
  repliesForwarded: number;
  /** Frames from peers handed to the local router. */
  landed: number;
  /** Requests failed back to their gateway (no peer, frame could not land, peer lost). */
  failed: number;
  /** Descriptors the local router handed back to an ingress (undeliverable). */
  bounced: number;
  /** Descriptors an egress or proxy could not take (bad buffer, wrong chain). */
  rejected: number;
  /** Replies that could not be delivered anywhere. */
  lost: number;
  /** Payload bytes copied in user space landing frames that could not be
   * read in place (collected whole first). */
  copiedBytes: number;
}

/** Without a chain lifetime, how long a peer may take to read a payload
 * before its link is cut (the buffer is pinned meanwhile). */
const DEFAULT_SEND_BOUND_MS = 30_000;
/** A buffer being written expires this much after the link would be cut
 * for it: the cut (and the free) always comes first. */
const SEND_LABEL_MARGIN_MS = 1000;

/** The identity stage of egress endpoints: no allow-list edge starts
 * there, so an egress can never send anything itself. */
const EGRESS_STAGE = 0xfffe;

interface Endpoint {
  id: number;
  endpoint: NativeEndpoint;
}

interface ChainState {
  chainId: number;
  pool: NativePool;
  bytes: Uint8Array;
  egress?: Endpoint;
  /** Remote stages' nodes and base weights, as programmed. */
  stages: Map<number, NodeWeight[]>;
  /** What the egress picks from (the shaper's output). */
  shaped: Map<number, ShapedNodes>;
  proxies: Map<number, Endpoint & { node: string }>;
  ingress: Map<number, Endpoint>;
  /** Payloads of this chain being written, per connection: the pool must
   * not go while a socket may still read from it. */
  sending: Map<PeerConnection, number>;
  /** Peers whose connection is reading a frame into this chain's pool. */
  landing: Set<string>;
}

/** What a frame from a peer needs to land. */
interface Reserved {
  st: ChainState;
  ing: Endpoint;
  buf: BufferRef;
}

/** The part of a request an error reply needs. */
interface Failing {
  requestId: bigint;
  replyTo: number;
  hopCount: number;
}

export interface RemoteHopsOptions {
  dataPlane: HopDataPlane;
  link: PeerLink;
  log: Logger;
}

export class RemoteHops {
  readonly counters: HopCounters = { forwarded: 0, repliesForwarded: 0, landed: 0, failed: 0, bounced: 0, rejected: 0, lost: 0, copiedBytes: 0 };
  /** Per remote stage and node: requests sent, back, and their round trips. */
  readonly meter = new EgressMeter();
  private shaper: NodeShaper = (_c, _s, nodes) => ({ nodes });
  private readonly dp: HopDataPlane;
  private readonly link: PeerLink;
  private readonly log: Logger;
  private readonly chains = new Map<number, ChainState>();
  private ids: IdBlock | undefined;
  private readonly onFrame = (peer: string, f: Frame) => this.land(peer, f);
  private readonly onDown = (peer: string, lost: InFlight[], reason: string) => this.peerLost(peer, lost, reason);

  constructor(opts: RemoteHopsOptions) {
    this.dp = opts.dataPlane;
    this.link = opts.link;
    this.log = opts.log.child({ part: 'hops' });
    this.link.on('frame', this.onFrame);
    this.link.on('down', this.onDown);
    this.link.setLander((peer, h) => this.reserve(peer, h));
  }

  get self(): string {
    return this.link.name;
  }

  /** The ids this node may use for its endpoints. A different block while
   * some are in use is refused: routes on this node name them. */
  setInfraIds(base: number, count: number): void {
    if (this.ids?.same(base, count)) return;
    if (this.ids && this.ids.inUse > 0)
      throw new Error(`infra ids ${this.ids.base}..${this.ids.base + this.ids.count - 1} are in use by ${this.ids.inUse} endpoints; DeleteChain the chains that cross nodes before moving the block`);
    this.ids = count === 0 ? undefined : new IdBlock(base, count, MAX_INSTANCES - 1);
  }

  /** Throws (changing nothing) when a node is no configured peer. */
  check(c: RemoteChain): void {
    const nodes = [...[...c.remoteStages.values()].flat().map((n) => n.node), ...c.remoteGateways.map((g) => g.node)];
    for (const node of nodes) {
      if (node === this.self) throw new Error(`node ${node} is this node; local targets have no node`);
      if (!this.link.knows(node)) throw new Error(`node ${node} is not a peer of ${this.self}: SetPeers first`);
    }
  }

  /**
   * Set up the chain's hops: the egress when some stage is remote, a proxy
   * per remote gateway. Returns the egress id for the routes of the remote
   * stages (undefined when none is remote).
   */
  program(c: RemoteChain): number | undefined {
    this.check(c);
    const st = this.state(c.chainId);
    for (const [g, proxy] of st.proxies) {
      if (c.remoteGateways.some((x) => x.instance === g && x.node === proxy.node)) continue;
      this.closeEndpoint(proxy, false);
      st.proxies.delete(g);
    }
    for (const g of c.remoteGateways) {
      if (st.proxies.has(g.instance)) continue;
      const endpoint = this.dp.openEndpoint({ instanceId: g.instance, chainId: c.chainId, stage: STAGE_REPLY, role: 'gateway' });
      const proxy = { id: g.instance, endpoint, node: g.node };
      st.proxies.set(g.instance, proxy);
      endpoint.start((n) => this.onEndpoint(st, proxy, n, (d) => this.forwardReply(st, proxy.node, d)));
    }
    st.stages = new Map([...c.remoteStages].filter(([, nodes]) => nodes.length > 0));
    this.reshape(c.chainId);
    if (st.stages.size === 0) {
      if (st.egress) this.closeEndpoint(st.egress, true);
      st.egress = undefined;
      return undefined;
    }
    if (!st.egress) {
      const id = this.takeId(`chain ${c.chainId}'s egress`);
      try {
        const endpoint = this.dp.openEndpoint({ instanceId: id, chainId: c.chainId, stage: EGRESS_STAGE, role: 'instance' });
        const egress = { id, endpoint };
        st.egress = egress;
        endpoint.start((n) => this.onEndpoint(st, egress, n, (d) => this.forwardRequest(st, d)));
      } catch (err) {
        this.ids?.give(id);
        throw err;
      }
    }
    return st.egress.id;
  }

  /** Who turns base weights into what the egress picks from (the balancer). */
  setShaper(shaper: NodeShaper): void {
    this.shaper = shaper;
    for (const chainId of this.chains.keys()) this.reshape(chainId);
  }

  /** Ask the shaper again for every remote stage of the chain (after the
   * balancer changed its mind, or a ProgramChain the base weights). */
  reshape(chainId: number): void {
    const st = this.chains.get(chainId);
    if (!st) return;
    st.shaped = new Map([...st.stages].map(([stage, nodes]) => [stage, this.shaper(chainId, stage, nodes.map((n) => ({ ...n })))]));
  }

  /** What the egress picks a remote stage's node from now. */
  shapedStage(chainId: number, stage: number): ShapedNodes | undefined {
    return this.chains.get(chainId)?.shaped.get(stage);
  }

  /** The chain's remote stages: their nodes with the control plane's weights. */
  remoteStages(chainId: number): Map<number, NodeWeight[]> {
    return new Map([...(this.chains.get(chainId)?.stages ?? [])].map(([s, nodes]) => [s, nodes.map((n) => ({ ...n }))]));
  }

  /** Close all of the chain's endpoints (before its pool goes). */
  remove(chainId: number): void {
    const st = this.chains.get(chainId);
    if (!st) return;
    this.chains.delete(chainId);
    this.meter.forget(chainId);
    // Sockets still writing from this chain's pool are cut first (their
    // requests fail as lost with the peer, and the link redials).
    for (const [conn, n] of st.sending) if (n > 0) conn.close(`chain ${chainId} was removed while ${n} of its payloads were being written`);
    for (const peer of st.landing) this.link.connection(peer)?.close(`chain ${chainId} was removed while a payload from ${peer} was landing in its pool`);
    if (st.egress) this.closeEndpoint(st.egress, true);
    for (const p of st.proxies.values()) this.closeEndpoint(p, false);
    for (const i of st.ingress.values()) this.closeEndpoint(i, true);
  }

  close(): void {
    for (const chainId of [...this.chains.keys()]) this.remove(chainId);
    this.link.off('frame', this.onFrame);
    this.link.off('down', this.onDown);
    this.link.setLander(undefined);
  }

  // ---- local endpoints ----

  private state(chainId: number): ChainState {
    let st = this.chains.get(chainId);
    if (!st) {
      const pool = this.dp.pool(chainId);
      st = { chainId, pool, bytes: new Uint8Array(pool.buffer), stages: new Map(), shaped: new Map(), proxies: new Map(), ingress: new Map(), sending: new Map(), landing: new Set() };
      this.chains.set(chainId, st);
    }
    return st;
  }

  private takeId(what: string): number {
    if (!this.ids) throw new Error(`${what} needs an instance id, but no infra id block is set: SetPeers with infra_id_base/infra_id_count first`);
    return this.ids.take(what);
  }

  private closeEndpoint(ep: Endpoint, fromBlock: boolean): void {
    ep.endpoint.stop();
    this.dp.closeEndpoint(ep.id);
    if (fromBlock) this.ids?.give(ep.id);
  }

  /** The endpoint that sends as `stage` of the chain (opened on first use). */
  private ingress(st: ChainState, stage: number): Endpoint {
    let ing = st.ingress.get(stage);
    if (ing) return ing;
    const id = this.takeId(`chain ${st.chainId}'s ingress for stage ${stage}`);
    try {
      const endpoint = this.dp.openEndpoint({ instanceId: id, chainId: st.chainId, stage, role: 'instance' });
      ing = { id, endpoint };
    } catch (err) {
      this.ids?.give(id);
      throw err;
    }
    st.ingress.set(stage, ing);
    // Only what the router hands back arrives here: free it.
    const { endpoint } = ing;
    endpoint.start((n) => {
      for (let i = 0; i < n; i++) this.bounced(st, endpoint.rx, i);
    });
    return ing;
  }

  /** Reads descriptors sent to one of our endpoints and takes their buffers. */
  private onEndpoint(st: ChainState, ep: Endpoint, n: number, handle: (d: Descriptor) => void): void {
    if (n < 0) return void this.log.warn('endpoint closed under ferryd', { chain: st.chainId, endpoint: ep.id });
    for (let i = 0; i < n; i++) {
      const d = decodeDescriptor(ep.endpoint.rx, i * DESC_SIZE);
      if (d.chainId !== st.chainId || !this.takeBuffer(st, d, ep.id)) {
        this.counters.rejected++;
        this.log.warn('descriptor rejected', { chain: st.chainId, endpoint: ep.id, descChain: d.chainId, offset: d.offset });
        continue;
      }
      handle(d);
    }
  }

  private takeBuffer(st: ChainState, d: Descriptor, owner: number): boolean {
    try {
      st.pool.check(d.offset, d.generation, d.length);
      st.pool.take(d.offset, d.generation, owner);
      return true;
    } catch {
      return false;
    }
  }

  private free(st: ChainState, offset: number, generation: number): void {
    try {
      st.pool.free(offset, generation);
    } catch {
      // counted by the pool (badFrees)
    }
  }

  private bounced(st: ChainState, rx: ArrayBuffer, i: number): void {
    const d = decodeDescriptor(rx, i * DESC_SIZE);
    this.counters.bounced++;
    this.log.warn('the router handed a request back: no gateway could take it', {
      chain: st.chainId,
      request: String(d.requestId),
      status: statusName(d.status),
    });
    if (d.chainId === st.chainId) this.free(st, d.offset, d.generation);
  }

  // ---- out to peers ----

  private forwardRequest(st: ChainState, d: Descriptor): void {
    const nodes = st.stages.get(d.stage);
    const peer = nodes && this.pick(st.shaped.get(d.stage) ?? { nodes }, d.requestId);
    const conn = peer && this.link.connection(peer);
    if (!conn) {
      const why = nodes
        ? `no link to ${nodes.map((n) => this.link.describe(n.node)).join(' or ')}, which serve stage ${d.stage}`
        : `no node serves stage ${d.stage}`;
      return this.failInPlace(st, d, Status.noRoute, `node ${this.self}: ${why}`);
    }
    conn.track({ chainId: st.chainId, requestId: d.requestId, stage: d.stage, replyTo: d.replyTo, hopCount: d.hopCount });
    this.meter.sent(st.chainId, d.stage, peer);
    this.send(st, conn, FrameType.Request, d);
    this.counters.forwarded++;
  }

  private forwardReply(st: ChainState, node: string, d: Descriptor): void {
    const conn = this.link.connection(node);
    if (conn && this.send(st, conn, FrameType.Reply, d)) {
      this.counters.repliesForwarded++;
    } else {
      if (!conn) this.free(st, d.offset, d.generation);
      this.counters.lost++;
      this.log.warn('reply lost: no link to the gateway\'s node', { chain: st.chainId, gateway: d.replyTo, node, request: String(d.requestId) });
    }
  }

  /**
   * Writes the descriptor's payload from its pool buffer, which is freed
   * once the socket is done with it. The buffer is relabelled to expire
   * only after the link would be cut for not reading it: the keeper must
   * never hand it to someone else while the socket may still read it.
   */
  private send(st: ChainState, conn: PeerConnection, type: FrameType, d: Descriptor): boolean {
    const lifetime = this.dp.lifetimeMs?.(st.chainId) ?? 0;
    const boundMs = lifetime > 0 ? lifetime : DEFAULT_SEND_BOUND_MS;
    if (lifetime > 0) {
      try {
        st.pool.label(d.offset, d.generation, Number(d.requestId & 0xffffffffn), (native.nowMs() + boundMs + SEND_LABEL_MARGIN_MS) >>> 0 || 1);
      } catch {
        // not ours any more: the send below fails the check as well
      }
    }
    st.sending.set(conn, (st.sending.get(conn) ?? 0) + 1);
    const release = () => {
      const n = (st.sending.get(conn) ?? 1) - 1;
      if (n > 0) st.sending.set(conn, n);
      else st.sending.delete(conn);
      this.free(st, d.offset, d.generation);
    };
    return conn.send(headerOf(type, d), st.bytes.subarray(d.offset, d.offset + d.length), release, Date.now() + boundMs);
  }

  /** As the routers pick (router/pick.ts): a keyed request by the ring
   * when its node has a link, else by weight among the connected nodes (a
   * node without a link weighs nothing). */
  private pick(shaped: ShapedNodes, requestId: bigint): string | undefined {
    const key = requestKey(requestId);
    const owner = key !== 0 && shaped.ring ? ringPick(shaped.ring, key) : undefined;
    if (owner !== undefined && this.link.connection(owner)) return owner;
    return pickWeighted(shaped.nodes.map((n) => ({ node: n.node, weight: this.link.connection(n.node) ? n.weight : 0 })))?.node;
  }

  // ---- in from peers ----

  /** Where a request or reply from a peer lands: a buffer of the local
   * pool reserved from its header, read into in place. undefined when it
   * cannot land (land() then refuses it with the reason). */
  private reserve(peer: string, h: FrameHeader): Landing | undefined {
    const r = this.take(h);
    if ('status' in r) return undefined;
    r.st.landing.add(peer);
    return {
      into: r.st.bytes.subarray(r.buf.offset, r.buf.offset + h.length),
      landed: () => {
        r.st.landing.delete(peer);
        this.deliver(peer, h, r);
      },
      // The peer went away mid-frame: nothing of it stays.
      abandon: () => {
        r.st.landing.delete(peer);
        this.free(r.st, r.buf.offset, r.buf.generation);
      },
    };
  }

  /** A frame collected whole (it could not be reserved for): copied into
   * a fresh buffer if it can land now, else refused. */
  private land(peer: string, f: Frame): void {
    const h = f.header;
    // Job frames are the job federation's (control/ferryd/jobs/federation.ts).
    if (h.type !== FrameType.Request && h.type !== FrameType.Reply) return;
    const r = this.take(h);
    if ('status' in r) {
      this.forgetSent(h);
      return this.refuse(peer, h, r.status, r.message);
    }
    r.st.bytes.set(f.payload, r.buf.offset);
    this.counters.copiedBytes += f.payload.length;
    this.deliver(peer, h, r);
  }

  private take(h: FrameHeader): Reserved | { status: number; message: string } {
    const st = this.chains.get(h.chainId);
    if (!st) return { status: Status.noRoute, message: `node ${this.self} does not run chain ${h.chainId}` };
    try {
      const ing = this.ingress(st, h.fromStage);
      return { st, ing, buf: st.pool.alloc(Math.max(h.length, 1), ing.id) };
    } catch (err) {
      const code = errorCode(err);
      const status = code === 'EPOOL_EXHAUSTED' ? Status.poolExhausted : code === 'ETOO_LARGE' ? Status.tooLarge : Status.noRoute;
      return { status, message: `node ${this.self} could not take the request: ${(err as Error).message}` };
    }
  }

  /** Back from where it was sent (a reply, or the request moving on):
   * that node's part took this long. */
  private forgetSent(h: FrameHeader): void {
    const back = this.link.forget(h.chainId, h.requestId);
    if (back) this.meter.done(h.chainId, back.sent.stage, back.peer, Date.now() - back.sent.sentAt);
  }

  /** The payload is in the buffer: hand the descriptor to the local router. */
  private deliver(peer: string, h: FrameHeader, { st, ing, buf }: Reserved): void {
    this.forgetSent(h);
    // The request lives here no longer than it may anywhere: a stage that
    // hangs on it cannot keep this node's buffer. (Labelled only now: a
    // buffer the socket is still reading into must never expire.)
    const lifetime = this.dp.lifetimeMs?.(h.chainId) ?? 0;
    if (lifetime > 0) st.pool.label(buf.offset, buf.generation, Number(h.requestId & 0xffffffffn), (native.nowMs() + lifetime) >>> 0 || 1);
    const rc = ing.endpoint.send(
      encodeDescriptor({
        chainId: h.chainId,
        stage: h.stage,
        fromStage: h.fromStage,
        requestId: h.requestId,
        offset: buf.offset,
        generation: buf.generation,
        length: h.length,
        hopCount: h.hopCount,
        status: h.status,
        flags: h.flags,
        replyTo: h.replyTo,
      }),
    );
    if (rc !== 0) {
      this.free(st, buf.offset, buf.generation);
      return this.refuse(peer, h, Status.noRoute, `node ${this.self}: the router refused the request (errno ${-rc})`);
    }
    this.counters.landed++;
  }

  /** A frame that cannot land: a request is answered over the same
   * connection (its sender routes the error to the gateway); a reply that
   * cannot land has nobody left to tell. */
  private refuse(peer: string, h: FrameHeader, status: number, message: string): void {
    if (h.type === FrameType.Request && h.replyTo !== 0) {
      const conn = this.link.connection(peer);
      const reply = { ...h, type: FrameType.Reply, stage: STAGE_REPLY, fromStage: h.stage, status, flags: errorFlags(h.flags) };
      if (conn?.write(encodeFrame(reply, new TextEncoder().encode(message)))) {
        this.counters.failed++;
        return;
      }
    }
    this.counters.lost++;
    this.log.warn('frame from a peer could not be delivered', { peer, chain: h.chainId, request: String(h.requestId), type: h.type, reason: message });
  }

  // ---- failing requests back to their gateway ----

  /** The requests a lost peer had: each gets an error reply now. */
  private peerLost(peer: string, lost: InFlight[], reason: string): void {
    for (const e of lost) {
      const st = this.chains.get(e.chainId);
      const message = `${this.link.describe(peer)} went away while serving stage ${e.stage}: ${reason}`;
      if (!st || !this.replyError(st, e.stage, e, Status.instanceDied, message))
        this.log.warn('could not fail a request lost with its peer', { peer, chain: e.chainId, request: String(e.requestId) });
    }
  }

  /** An error reply in a new buffer, sent as `stage` (every stage may
   * answer the caller). */
  private replyError(st: ChainState, stage: number, r: Failing, status: number, message: string): boolean {
    if (r.replyTo === 0) return false;
    const text = new TextEncoder().encode(message);
    try {
      const ing = this.ingress(st, stage);
      const buf = st.pool.alloc(Math.max(text.length, 1), ing.id);
      st.bytes.set(text, buf.offset);
      return this.sendError(st, ing, { ...r, offset: buf.offset, generation: buf.generation, length: text.length }, status);
    } catch (err) {
      this.log.warn('no buffer for an error reply', { chain: st.chainId, error: (err as Error).message });
      return false;
    }
  }

  /** An egress that cannot ship a request turns its own buffer into the
   * error reply, as an instance would. */
  private failInPlace(st: ChainState, d: Descriptor, status: number, message: string): void {
    const text = new TextEncoder().encode(message);
    let sent = false;
    if (d.replyTo !== 0) {
      try {
        const cap = st.pool.check(d.offset, d.generation, 0);
        const len = Math.min(cap, text.length);
        st.bytes.set(text.subarray(0, len), d.offset);
        sent = this.sendError(st, this.ingress(st, d.stage), { ...d, length: len }, status);
      } catch (err) {
        this.log.warn('could not fail a request', { chain: st.chainId, error: (err as Error).message });
      }
    }
    if (!sent) {
      this.free(st, d.offset, d.generation);
      this.counters.lost++;
    }
    this.log.info('request failed at the egress', { chain: st.chainId, request: String(d.requestId), reason: message });
  }

  private sendError(
    st: ChainState,
    ing: Endpoint,
    r: Failing & { offset: number; generation: number; length: number },
    status: number,
  ): boolean {
    const frame = encodeDescriptor({
      chainId: st.chainId,
      stage: STAGE_REPLY,
      requestId: r.requestId,
      offset: r.offset,
      generation: r.generation,
      length: r.length,
      hopCount: r.hopCount,
      status,
      flags: FLAG_ERROR,
      replyTo: r.replyTo,
    });
    if (ing.endpoint.send(frame) !== 0) {
      this.free(st, r.offset, r.generation);
      return false;
    }
    this.counters.failed++;
    return true;
  }
}

function headerOf(type: FrameType, d: Descriptor): Omit<FrameHeader, 'length'> {
  return {
    type,
    chainId: d.chainId,
    stage: d.stage,
    fromStage: d.fromStage,
    requestId: d.requestId,
    replyTo: d.replyTo,
    status: d.status,
    flags: d.flags,
    hopCount: d.hopCount,
  };
}
