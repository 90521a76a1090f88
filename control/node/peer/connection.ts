/**
 * One ferryd-to-ferryd connection (mutual TLS, or plain TCP on a trusted
 * network): frames in and out, the hello that says which node is at the
 * other end, and the requests this node forwarded over it that have not
 * come back yet (so a peer that disappears can have them failed at once
 * instead of left to time out).
 *
 * Payloads are not copied on their way through: a request's payload is
 * written from its pool buffer (header first, then a view of the buffer),
 * and one coming in is read into a pool buffer reserved from its header
 * (frame-receiver.ts; TLS, which decrypts in user space, copies it once
 * there). A buffer being written stays the connection's until the write
 * completed; a peer that stops reading cannot pin it past its deadline:
 * the connection is cut first, which ends the socket's hold on it.
 */
import type { OnReadOpts, Socket } from 'node:net';
import { decodeHello, encodeHeader, FrameError, HEADER_SIZE, FrameType, helloFrame, type Frame, type FrameHeader, type HelloBody } from './frame.js';
import { FrameReceiver, type Landing } from './frame-receiver.js';

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
  /** Where the payload of a request or reply frame lands (undefined: it
   * is collected whole and handed to onFrame). */
  land?(conn: PeerConnection, header: FrameHeader): Landing | undefined;
  /** Once, when the socket is gone; reason says why. */
  onClose(conn: PeerConnection, reason: string): void;
}

export interface ConnectionOptions {
  maxPayload: number;
  /** In-flight entries older than this are forgotten (their request went
   * on to a third node and ended there, so it never comes back here). */
  inFlightTtlMs: number;
  /** Read in place (plain TCP): the socket is made with these reads. */
  inPlace?: boolean;
}

/** Makes the connection's socket; onread is for reading in place (plain
 * TCP sockets; a TLS socket ignores it). */
export type SocketMaker = (onread: OnReadOpts) => Socket;

/** A payload being written from memory that is not the connection's own. */
interface Sending {
  bytes: number;
  /** Date.now() by which it must be written, or the connection is cut. */
  deadline: number;
  release: () => void;
  done: boolean;
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
  /** Payload bytes sent that were encrypted in user space (TLS). */
  private sendCopied = 0;
  readonly socket: Socket;
  private readonly receiver: FrameReceiver;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly sending = new Set<Sending>();
  private guard: NodeJS.Timeout | undefined;
  private closeReason: string | undefined;

  constructor(
    makeSocket: SocketMaker,
    private readonly events: ConnectionEvents,
    private readonly opts: ConnectionOptions,
  ) {
    this.receiver = new FrameReceiver(
      { land: (h) => this.land(h), frame: (f) => this.onWholeFrame(f) },
      opts.maxPayload,
    );
    const socket = makeSocket({ buffer: () => this.receiver.readBuffer(), callback: (n) => this.onReadInPlace(n) });
    this.socket = socket;
    socket.setNoDelay(true);
    // A peer host that vanishes without a FIN is noticed by keepalive.
    socket.setKeepAlive(true, 1000);
    if (!opts.inPlace) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(err.message));
    socket.on('close', () => {
      this.closeReason ??= 'connection closed by the peer';
      // The socket no longer reads or writes: what it held is free.
      this.releaseAll();
      this.receiver.abandon();
      this.events.onClose(this, this.closeReason);
    });
  }

  /** Payload bytes this connection copied in user space, both ways (0 on
   * a plain TCP connection). */
  get copiedBytes(): number {
    return this.receiver.copiedBytes + this.sendCopied;
  }

  /** Payloads being written now, and their bytes (held pool buffers). */
  get sendingNow(): { frames: number; bytes: number } {
    let bytes = 0;
    for (const s of this.sending) bytes += s.bytes;
    return { frames: this.sending.size, bytes };
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

  /**
   * A frame whose payload is written from where it lies, not copied:
   * release is called once the socket is done with it (written, or the
   * connection gone), and the connection is cut if it is not written by
   * deadline (Date.now() ms). false (released already) when closed.
   */
  send(h: Omit<FrameHeader, 'length'>, payload: Uint8Array, release: () => void, deadline: number): boolean {
    if (!this.open) {
      release();
      return false;
    }
    if (payload.byteLength === 0) {
      // Nothing of the buffer to write: it can go now.
      this.write(encodeHeader(h, 0));
      release();
      return true;
    }
    const s: Sending = { bytes: payload.byteLength, deadline, release, done: false };
    this.sending.add(s);
    this.socket.cork();
    this.socket.write(encodeHeader(h, payload.byteLength));
    this.socket.write(payload, () => this.sent(s));
    this.socket.uncork();
    if (!this.opts.inPlace) this.sendCopied += payload.byteLength;
    this.framesOut++;
    this.bytesOut += HEADER_SIZE + payload.byteLength;
    this.armGuard(deadline);
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
    // destroy() closes the handle now: the socket never touches a payload
    // it was writing again, so its buffer can go back at once (the peer
    // that stopped reading must not pin it until the keeper reclaims it).
    this.socket.destroy();
    this.releaseAll();
    this.receiver.abandon();
  }

  private sent(s: Sending): void {
    if (s.done) return;
    s.done = true;
    this.sending.delete(s);
    s.release();
  }

  private releaseAll(): void {
    if (this.guard) clearTimeout(this.guard);
    this.guard = undefined;
    for (const s of [...this.sending]) this.sent(s);
  }

  /** One timer, for the earliest deadline of what is being written. */
  private armGuard(deadline: number): void {
    if (this.guard) return;
    this.guard = setTimeout(() => this.checkGuard(), Math.max(0, deadline - Date.now()));
    this.guard.unref();
  }

  private checkGuard(): void {
    this.guard = undefined;
    const now = Date.now();
    let next = Infinity;
    for (const s of this.sending) {
      if (s.deadline <= now)
        return this.close(
          `${this.peer ?? this.remote} did not take a frame of ${s.bytes} bytes before its request's deadline (${this.sending.size} frames, ${this.sendingNow.bytes} bytes unsent): cut so that its buffers go back`,
        );
      next = Math.min(next, s.deadline);
    }
    if (next !== Infinity) this.armGuard(next);
  }

  /** The receiver asks where a request's or reply's payload lands. */
  private land(h: FrameHeader): Landing | undefined {
    const model = h.type === FrameType.JobModel;
    if (h.type !== FrameType.Request && h.type !== FrameType.Reply && !model) return undefined;
    if (this.peer === undefined) throw new FrameError(`frame of type ${h.type} before the hello`);
    const l = this.events.land?.(this, h);
    // A model is never collected into memory of its own: it lands in the
    // pool or the stream is cut (its size is only capped by the lander).
    if (!l && model) throw new FrameError(`a job model of ${h.length} bytes for chain ${h.chainId} that this node cannot take`);
    if (!l) return undefined;
    return {
      into: l.into,
      landed: () => {
        this.framesIn++;
        l.landed();
      },
      abandon: () => l.abandon(),
    };
  }

  private onReadInPlace(n: number): boolean {
    if (!this.open) return false;
    this.bytesIn += n;
    this.guarded(() => this.receiver.onRead(n));
    return this.open;
  }

  private onData(chunk: Buffer): void {
    if (!this.open) return;
    this.bytesIn += chunk.length;
    this.guarded(() => this.receiver.push(chunk));
  }

  private onWholeFrame(f: Frame): void {
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
  }

  /** Never let one connection's input take ferryd down. */
  private guarded(read: () => void): void {
    try {
      read();
    } catch (err) {
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
