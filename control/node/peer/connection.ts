/**
 * One ferryd-to-ferryd TLS connection: frames in and out, the hello that
 * says which node is at the other end, and the requests this node forwarded
 * over it that have not come back yet (so a peer that disappears can have
 * them failed at once instead of left to time out).
 */
import type { Socket } from 'node:net';
import { decodeHello, FrameError, FrameReader, FrameType, helloFrame, type Frame, type HelloBody } from './frame.js';

/** A request this node sent to the peer and has not seen again. */
export interface InFlight {
  chainId: number;
  requestId: bigint;
  /** The stage it was sent for, and the gateway waiting for it. */
  stage: number;
  replyTo: number;
  hopCount: number;
  sentAt: number;
}

export interface ConnectionEvents {
  /** The first frame, a hello; throw FrameError to refuse the peer. */
  onHello(conn: PeerConnection, hello: HelloBody): void;
  onFrame(conn: PeerConnection, frame: Frame): void;
  /** Once, when the socket is gone; reason says why. */
  onClose(conn: PeerConnection, reason: string): void;
}

export interface ConnectionOptions {
  maxPayload: number;
  /** In-flight entries older than this are forgotten (their request went
   * on to a third node and ended there, so it never comes back here). */
  inFlightTtlMs: number;
}

export const inFlightKey = (chainId: number, requestId: bigint) => `${chainId}:${requestId}`;

export class PeerConnection {
  /** The peer's node name, once its hello arrived. */
  peer: string | undefined;
  /** The node name its TLS certificate proves (accepted connections). */
  certifiedAs: string | undefined;
  /** What the peer said in its hello it speaks (frame.ts FEATURE_*). */
  features: readonly string[] = [];
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Why the connection was cut for a bad frame, if it was. */
  badFrame: string | undefined;
  private readonly reader: FrameReader;
  private readonly inFlight = new Map<string, InFlight>();
  private closeReason: string | undefined;

  constructor(
    readonly socket: Socket,
    private readonly events: ConnectionEvents,
    private readonly opts: ConnectionOptions,
  ) {
    this.reader = new FrameReader(opts.maxPayload);
    socket.setNoDelay(true);
    // A peer host that vanishes without a FIN is noticed by keepalive.
    socket.setKeepAlive(true, 1000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(err.message));
    socket.on('close', () => {
      this.closeReason ??= 'connection closed by the peer';
      this.events.onClose(this, this.closeReason);
    });
  }

  get open(): boolean {
    return this.closeReason === undefined && !this.socket.destroyed;
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  sendHello(body: HelloBody): boolean {
    return this.write(helloFrame(body));
  }

  /** false when the connection is already closed. */
  write(frame: Buffer): boolean {
    if (!this.open) return false;
    this.socket.write(frame);
    this.framesOut++;
    this.bytesOut += frame.length;
    return true;
  }

  track(f: Omit<InFlight, 'sentAt'>): void {
    const now = Date.now();
    this.inFlight.set(inFlightKey(f.chainId, f.requestId), { ...f, sentAt: now });
    // Map order is insertion order: the oldest entries come first.
    for (const [key, e] of this.inFlight) {
      if (now - e.sentAt < this.opts.inFlightTtlMs) break;
      this.inFlight.delete(key);
    }
  }

  /** The request, if it was in flight here (it is not any more). */
  forget(key: string): InFlight | undefined {
    const e = this.inFlight.get(key);
    if (e) this.inFlight.delete(key);
    return e;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Requests of one chain's stage in flight here. */
  inFlightOf(chainId: number, stage: number): number {
    let n = 0;
    for (const e of this.inFlight.values()) if (e.chainId === chainId && e.stage === stage) n++;
    return n;
  }

  /** What was in flight, emptied (for failing it). */
  drainInFlight(): InFlight[] {
    const all = [...this.inFlight.values()];
    this.inFlight.clear();
    return all;
  }

  close(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (!this.open) return;
    this.bytesIn += chunk.length;
    try {
      this.reader.push(chunk, (f) => {
        if (!this.open) return;
        this.framesIn++;
        if (f.header.type === FrameType.Hello) {
          if (this.peer !== undefined) throw new FrameError('second hello on one connection');
          const hello = decodeHello(f.payload);
          this.events.onHello(this, hello);
          this.features = hello.features ?? [];
          return;
        }
        if (this.peer === undefined) throw new FrameError(`frame of type ${f.header.type} before the hello`);
        this.events.onFrame(this, f);
      });
    } catch (err) {
      // Never let one connection's input take ferryd down.
      const who = this.peer ?? this.remote;
      if (err instanceof FrameError) {
        this.badFrame = err.message;
        this.close(`bad frame from ${who}: ${err.message}`);
      } else {
        this.close(`error handling a frame from ${who}: ${(err as Error).message}`);
      }
    }
  }
}
