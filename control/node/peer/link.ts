/**
 * PeerLink: this ferryd's links to the other nodes' ferryds. One persistent
 * mutual-TLS connection per pair of nodes carries frames both ways; the node
 * whose name sorts first dials (with backoff, for as long as the peer is
 * configured) and the other accepts, so the pair never ends up with two.
 *
 * Who is at the other end comes from its certificate (a node certificate
 * from the cluster CA; both sides demand one), never from what it says: the
 * dialer accepts only the certificate of the node it meant to reach, the
 * acceptor only a node certificate. Both ends then open with a hello {from,
 * to} whose names must match the certificates; the acceptor takes only a
 * peer it was told about (SetPeers) that is meant to dial it, and answers
 * with its own hello; only then does the connection carry requests. Every
 * refusal is counted (stats().refused) and logged. A frame that breaks the
 * wire rules closes that connection (and is counted and logged); the dialer
 * then reconnects. Nothing a peer sends can throw out of here.
 *
 * transport 'tcp' drops TLS for a network that is trusted as it is (a
 * private fabric, or one encrypted below, e.g. WireGuard or IPsec): TLS
 * encrypts and decrypts every payload in user space, plain TCP lets the
 * link read and write payloads where they lie in the pool with no copy.
 * Without certificates the acceptor knows a peer by its hello and by the
 * address it comes from (the host of the peer's configured address), so
 * anyone who can spoof that address on the network can pose as the peer:
 * use it only where that cannot happen.
 */
import { EventEmitter } from 'node:events';
import { connect as tcpConnect, createServer as tcpServer, Socket, type OnReadOpts } from 'node:net';
import { connect, createServer, type PeerCertificate, type Server, type TLSSocket } from 'node:tls';
import type { Credential } from '../../auth/credential.js';
import { expectServer, TLS_SERVER_NAME } from '../../auth/grpc.js';
import { describeIdentity, identityOfAltName } from '../../auth/identity.js';
import { formatHostPort, parseHostPort } from '../../ferryd/address.js';
import type { Logger } from '../../log.js';
import { inFlightKey, PeerConnection, type InFlight, type SocketMaker } from './connection.js';
import { DEFAULT_MAX_PAYLOAD, FEATURE_LOAD, FrameError, FrameType, type Frame, type FrameHeader, type HelloBody } from './frame.js';
import type { Landing } from './frame-receiver.js';
import { decodeLoad, type LoadReport } from './load-report.js';

export interface PeerSpec {
  name: string;
  /** host:port of its peer listener. */
  address: string;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface PeerLinkOptions {
  /** This node's name (NodeInfo.name). */
  name: string;
  /** host:port to listen on; port 0 picks one. */
  listen: string;
  /** This node's credential (a node certificate for `name`). */
  tls: Credential;
  log: Logger;
  maxPayload?: number;
  backoff?: Backoff;
  /** A hello must arrive this soon after connecting. */
  helloTimeoutMs?: number;
  inFlightTtlMs?: number;
  /** 'tls' (default): mutual TLS; 'tcp': plain TCP, zero copy, for a
   * trusted network only (see above). */
  transport?: PeerTransport;
}

export type PeerTransport = 'tls' | 'tcp';
export const PEER_TRANSPORTS: readonly PeerTransport[] = ['tls', 'tcp'];

/** Where a peer's request or reply lands (RemoteHops: a pool buffer). */
export type Lander = (peer: string, header: FrameHeader) => Landing | undefined;

export interface PeerStatus {
  name: string;
  address: string;
  connected: boolean;
  inFlight: number;
  framesIn: number;
  framesOut: number;
  /** Payload bytes being written now (pool buffers the socket holds). */
  sendingBytes: number;
  /** Bytes (headers and payloads) in and out on the current connection. */
  bytesIn: number;
  bytesOut: number;
}

export interface LinkStats {
  transport: PeerTransport;
  badFrames: number;
  refused: number;
  /** Payload bytes copied in user space by the link, both ways, over its
   * life (0 with transport tcp; TLS encrypts and decrypts every byte). */
  copiedBytes: number;
  peers: PeerStatus[];
}

/** 'frame' (peer, frame), 'load' (peer, its report), 'up' (peer), 'down' (peer, lost InFlight[], reason). */
export interface PeerLinkEvents {
  frame: [peer: string, frame: Frame];
  load: [peer: string, report: LoadReport];
  up: [peer: string];
  down: [peer: string, lost: InFlight[], reason: string];
}

const DEFAULT_BACKOFF: Backoff = { initialMs: 100, maxMs: 5000 };

interface PeerState {
  spec: PeerSpec;
  /** Established (hello exchanged) connection, if any. */
  conn?: PeerConnection;
  /** Dialer side: the attempt under way or the timer for the next one. */
  dialing?: PeerConnection;
  retry?: NodeJS.Timeout;
  delayMs: number;
}

export class PeerLink extends EventEmitter<PeerLinkEvents> {
  readonly name: string;
  private readonly log: Logger;
  readonly transport: PeerTransport;
  private readonly server: Server | import('node:net').Server;
  private lander: Lander | undefined;
  private jobLander: Lander | undefined;
  /** copiedBytes of connections that are gone. */
  private copiedGone = 0;
  private readonly peers = new Map<string, PeerState>();
  /** Accepted connections still waiting for their hello. */
  private readonly pending = new Set<PeerConnection>();
  private readonly backoff: Backoff;
  private readonly connOpts: { maxPayload: number; inFlightTtlMs: number; inPlace: boolean };
  private readonly helloTimeoutMs: number;
  private readonly tls: Credential;
  private badFrames = 0;
  private refused = 0;
  private closed = false;
  private bound = '';

  private constructor(opts: PeerLinkOptions) {
    super();
    this.name = opts.name;
    this.log = opts.log;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.helloTimeoutMs = opts.helloTimeoutMs ?? 5000;
    this.transport = opts.transport ?? 'tls';
    this.connOpts = { maxPayload: opts.maxPayload ?? DEFAULT_MAX_PAYLOAD, inFlightTtlMs: opts.inFlightTtlMs ?? 10 * 60_000, inPlace: this.transport === 'tcp' };
    this.tls = opts.tls;
    if (this.transport === 'tcp') {
      // Paused: the socket is remade around its handle to read in place
      // before it reads a byte (adopt()).
      this.server = tcpServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    } else {
      const { ca, cert, key } = opts.tls;
      const server = createServer({ ca, cert, key, requestCert: true, rejectUnauthorized: true }, (socket) => this.accept(socket));
      // A client without a certificate from the cluster CA never gets past the handshake.
      server.on('tlsClientError', (err, socket) => this.refuse(`${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, `TLS handshake failed: ${err.message}`));
      this.server = server;
    }
  }

  /** Who takes the payloads of requests and replies as they arrive
   * (without one they are collected and emitted as 'frame'). */
  setLander(lander: Lander | undefined): void {
    this.lander = lander;
  }

  /** Who takes job model frames (control/ferryd/jobs/federation.ts). */
  setJobLander(lander: Lander | undefined): void {
    this.jobLander = lander;
  }

  private landFor(peer: string, h: FrameHeader): Landing | undefined {
    return h.type === FrameType.JobModel ? this.jobLander?.(peer, h) : this.lander?.(peer, h);
  }

  static async listen(opts: PeerLinkOptions): Promise<PeerLink> {
    const link = new PeerLink(opts);
    const { host, port } = parseHostPort(opts.listen, 'peer address');
    await new Promise<void>((resolve, reject) => {
      link.server.once('error', reject);
      link.server.listen(port, host, () => {
        link.server.off('error', reject);
        resolve();
      });
    });
    const a = link.server.address();
    const boundPort = typeof a === 'object' && a ? a.port : port;
    link.bound = formatHostPort({ host, port: boundPort });
    link.server.on('error', (err) => link.log.error('peer listener failed', { error: err.message }));
    return link;
  }

  /** host:port as bound. */
  get address(): string {
    return this.bound;
  }

  /** Replace the set of peers: new ones are dialed (or awaited), removed
   * ones disconnected, ones whose address changed redialed. */
  setPeers(specs: PeerSpec[]): void {
    const next = new Map<string, PeerSpec>();
    for (const s of specs) {
      if (s.name === this.name) throw new Error(`peer "${s.name}" is this node itself`);
      if (next.has(s.name)) throw new Error(`peer "${s.name}" is listed twice`);
      parseHostPort(s.address, `peer ${s.name}`);
      next.set(s.name, { name: s.name, address: s.address });
    }
    for (const [name, st] of this.peers) {
      const spec = next.get(name);
      if (spec && spec.address === st.spec.address) continue;
      this.dropPeer(st, spec ? `peer ${name} moved to ${spec.address}` : `peer ${name} removed`);
      this.peers.delete(name);
    }
    for (const spec of next.values()) {
      if (this.peers.has(spec.name)) continue;
      const st: PeerState = { spec, delayMs: this.backoff.initialMs };
      this.peers.set(spec.name, st);
      if (this.dials(spec.name)) this.dial(st);
    }
  }

  knows(peer: string): boolean {
    return this.peers.has(peer);
  }

  /** The established connection to peer, if there is one now. */
  connection(peer: string): PeerConnection | undefined {
    const c = this.peers.get(peer)?.conn;
    return c?.open ? c : undefined;
  }

  connected(): string[] {
    return [...this.peers.values()].filter((p) => p.conn?.open).map((p) => p.spec.name);
  }

  describe(peer: string): string {
    const st = this.peers.get(peer);
    return st ? `node ${peer} (${st.spec.address})` : `node ${peer}`;
  }

  /** A request came back (from any peer): stop tracking it everywhere.
   * Returns the peer it had been sent to and when, if it was tracked. */
  forget(chainId: number, requestId: bigint): { peer: string; sent: InFlight } | undefined {
    const key = inFlightKey(chainId, requestId);
    let found: { peer: string; sent: InFlight } | undefined;
    for (const st of this.peers.values()) {
      const sent = st.conn?.forget(key);
      if (sent) found = { peer: st.spec.name, sent };
    }
    return found;
  }

  /** Requests of a chain's stage sent to peer and not back yet. */
  inFlightOf(peer: string, chainId: number, stage: number): number {
    return this.connection(peer)?.inFlightOf(chainId, stage) ?? 0;
  }

  /** Send a load report frame to every connected peer that takes them. */
  sendLoad(frame: Buffer): number {
    let sent = 0;
    for (const st of this.peers.values()) if (st.conn?.open && st.conn.features.includes(FEATURE_LOAD) && st.conn.write(frame)) sent++;
    return sent;
  }

  stats(): LinkStats {
    let copiedBytes = this.copiedGone;
    for (const st of this.peers.values()) for (const c of new Set([st.conn, st.dialing])) copiedBytes += c?.copiedBytes ?? 0;
    for (const c of this.pending) copiedBytes += c.copiedBytes;
    return {
      transport: this.transport,
      badFrames: this.badFrames,
      refused: this.refused,
      copiedBytes,
      peers: [...this.peers.values()].map((st) => ({
        name: st.spec.name,
        address: st.spec.address,
        connected: st.conn?.open ?? false,
        inFlight: st.conn?.inFlightCount ?? 0,
        framesIn: st.conn?.framesIn ?? 0,
        framesOut: st.conn?.framesOut ?? 0,
        sendingBytes: st.conn?.sendingNow.bytes ?? 0,
        bytesIn: st.conn?.bytesIn ?? 0,
        bytesOut: st.conn?.bytesOut ?? 0,
      })),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const st of this.peers.values()) this.dropPeer(st, 'ferryd shutting down');
    for (const c of this.pending) c.close('ferryd shutting down');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The node whose name sorts first dials. */
  private dials(peer: string): boolean {
    return this.name < peer;
  }

  private dropPeer(st: PeerState, reason: string): void {
    if (st.retry) clearTimeout(st.retry);
    st.retry = undefined;
    st.dialing?.close(reason);
    st.conn?.close(reason);
  }

  private dial(st: PeerState): void {
    if (this.closed || this.peers.get(st.spec.name) !== st) return;
    const { host, port } = parseHostPort(st.spec.address, `peer ${st.spec.name}`);
    const makeSocket: SocketMaker = this.transport === 'tcp' ? (onread) => tcpConnect({ host, port, onread }) : () => this.dialTls(st, host, port);
    const conn = new PeerConnection(
      makeSocket,
      {
        onHello: (c, hello) => {
          if (hello.from !== st.spec.name || hello.to !== this.name) {
            const why = `expected hello from ${st.spec.name} (its certificate) to ${this.name}, got from ${hello.from} to ${hello.to}`;
            this.refuse(c.remote, why, hello.from);
            throw new FrameError(why);
          }
          clearTimeout(timer);
          st.dialing = undefined;
          st.delayMs = this.backoff.initialMs;
          this.established(st, c);
        },
        onFrame: (c, f) => this.onFrame(st.spec.name, f),
        land: (c, h) => this.landFor(st.spec.name, h),
        onClose: (c, reason) => {
          clearTimeout(timer);
          if (st.dialing === c) st.dialing = undefined;
          this.closedConn(st, c, reason);
          this.scheduleDial(st, reason);
        },
      },
      this.connOpts,
    );
    st.dialing = conn;
    const timer = setTimeout(() => conn.close(`no hello from ${st.spec.name} within ${this.helloTimeoutMs} ms`), this.helloTimeoutMs);
    const hello = () => conn.sendHello({ from: this.name, to: st.spec.name, features: [FEATURE_LOAD] });
    conn.socket.once(this.transport === 'tcp' ? 'connect' : 'secureConnect', hello);
  }

  private dialTls(st: PeerState, host: string, port: number): TLSSocket {
    const { ca, cert, key } = this.tls;
    const checkPeer = expectServer(['node'], st.spec.name);
    return connect({
      host,
      port,
      ca,
      cert,
      key,
      servername: TLS_SERVER_NAME,
      checkServerIdentity: (_host: string, peerCert: PeerCertificate) => {
        const why = checkPeer(identityOfAltName(peerCert.subjectaltname));
        if (!why) return undefined;
        this.refuse(st.spec.address, why);
        return new Error(`refused ${st.spec.address}: ${why}`);
      },
    });
  }

  private scheduleDial(st: PeerState, reason: string): void {
    if (this.closed || this.peers.get(st.spec.name) !== st || st.retry) return;
    const delay = st.delayMs * (0.5 + Math.random() / 2);
    st.delayMs = Math.min(st.delayMs * 2, this.backoff.maxMs);
    this.log.debug('peer link: will redial', { peer: st.spec.name, inMs: Math.round(delay), reason });
    st.retry = setTimeout(() => {
      st.retry = undefined;
      this.dial(st);
    }, delay);
  }

  private acceptorEvents() {
    return {
      onHello: (c: PeerConnection, hello: HelloBody) => this.onAcceptedHello(c, hello),
      onFrame: (c: PeerConnection, f: Frame) => this.onFrame(c.peer!, f),
      land: (c: PeerConnection, h: FrameHeader) => this.landFor(c.peer!, h),
      onClose: (c: PeerConnection, reason: string) => {
        this.pending.delete(c);
        const st = c.peer ? this.peers.get(c.peer) : undefined;
        if (st) this.closedConn(st, c, reason);
        else {
          this.copiedGone += c.copiedBytes;
          this.noteBadFrame(c, reason);
        }
      },
    };
  }

  private accept(socket: Socket): void {
    const tcp = this.transport === 'tcp';
    const c = new PeerConnection(tcp ? (onread) => adopt(socket, onread) : () => socket, this.acceptorEvents(), this.connOpts);
    if (this.closed) return c.close('ferryd shutting down');
    if (!tcp) {
      const id = identityOfAltName((socket as TLSSocket).getPeerCertificate().subjectaltname);
      if (id?.kind !== 'node') {
        this.refuse(c.remote, `its certificate is for ${id ? describeIdentity(id) : 'no ferry identity'}, not a node`);
        return c.close('refused: not a node certificate');
      }
      c.certifiedAs = id.name;
    }
    this.pending.add(c);
    const timer = setTimeout(() => {
      if (c.peer === undefined) c.close(`no hello within ${this.helloTimeoutMs} ms`);
    }, this.helloTimeoutMs);
    c.socket.once('close', () => clearTimeout(timer));
  }

  private onAcceptedHello(c: PeerConnection, hello: HelloBody): void {
    const st = this.peers.get(hello.from);
    let why: string | undefined;
    if (this.transport === 'tls' && hello.from !== c.certifiedAs) why = `its hello says it is ${hello.from}, but its certificate is node ${c.certifiedAs}`;
    else if (this.transport === 'tcp' && st && !fromHostOf(st.spec.address, c.socket.remoteAddress))
      why = `its hello says it is ${hello.from}, but it connects from ${c.socket.remoteAddress ?? '?'}, not from ${hello.from}'s host (${st.spec.address})`;
    else if (hello.to !== this.name) why = `it is for node ${hello.to}, this is ${this.name}`;
    else if (!st) why = `${hello.from} is not a configured peer`;
    else if (this.dials(hello.from)) why = `${this.name} dials ${hello.from}, not the other way`;
    if (why || !st) {
      this.refuse(c.remote, why ?? 'unknown peer', hello.from);
      c.close(`refused: ${why}`);
      return;
    }
    this.pending.delete(c);
    c.sendHello({ from: this.name, to: hello.from, features: [FEATURE_LOAD] });
    this.established(st, c);
  }

  /** Load reports are the link's business (decoded here: a malformed one
   * is a bad frame); requests and replies go to whoever routes them. */
  private onFrame(peer: string, f: Frame): void {
    if (f.header.type === FrameType.Load) this.emit('load', peer, decodeLoad(f.payload));
    else this.emit('frame', peer, f);
  }

  private refuse(remote: string, reason: string, from?: string): void {
    this.refused++;
    this.log.warn('peer link: refused a connection', { remote, from, reason });
  }

  private established(st: PeerState, c: PeerConnection): void {
    c.peer = st.spec.name;
    const old = st.conn;
    st.conn = c;
    if (old && old !== c) old.close('replaced by a new connection');
    this.log.info('peer link up', { peer: st.spec.name, remote: c.remote });
    this.emit('up', st.spec.name);
  }

  private closedConn(st: PeerState, c: PeerConnection, reason: string): void {
    this.noteBadFrame(c, reason);
    this.copiedGone += c.copiedBytes;
    const current = st.conn === c;
    if (current) st.conn = undefined;
    // A replaced connection may still have taken requests with it.
    const lost = c.drainInFlight();
    if (!current && lost.length === 0) return;
    this.log.warn('peer link down', { peer: st.spec.name, reason, inFlight: lost.length });
    this.emit('down', st.spec.name, lost, reason);
  }

  private noteBadFrame(c: PeerConnection, reason: string): void {
    if (c.badFrame === undefined) return;
    this.badFrames++;
    this.log.error('peer link: bad frame, connection closed', { peer: c.peer, remote: c.remote, error: c.badFrame, reason });
  }
}

/** An accepted plain socket (paused, nothing read yet) remade around its
 * handle so that it reads in place: net.Server has no onread option. */
function adopt(socket: Socket, onread: OnReadOpts): Socket {
  const handle = (socket as unknown as { _handle: unknown })._handle;
  if (!handle) throw new Error('peer link: the accepted socket has no handle to read in place from');
  (socket as unknown as { _handle: unknown })._handle = null;
  socket.destroy();
  const s = new Socket({ handle, onread, readable: true, writable: true } as ConstructorParameters<typeof Socket>[0]);
  s.resume();
  return s;
}

/** Whether a plain connection comes from the host of a peer's address. */
function fromHostOf(address: string, remote: string | undefined): boolean {
  const norm = (h: string) => h.replace(/^::ffff:/, '').replace(/^\[|\]$/g, '');
  return remote !== undefined && norm(parseHostPort(address, 'peer address').host) === norm(remote);
}
