/**
 * ferryd's end of an instance's control channel (struct ferry_ctl_msg in
 * dataplane-native/include/ferry/abi.h): the instance says when it is ready
 * to be routed to, and answers liveness pings from its own event loop, so
 * an instance stuck in a handler is told apart from one that is only busy.
 */
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { native } from '../dataplane/native.js';

const CTL = native.layout.control;

export class ControlChannel extends EventEmitter {
  private readonly socket: Socket;
  private pending: Buffer = Buffer.alloc(0);
  private seq = 0;
  private readonly waiting = new Map<number, (alive: boolean) => void>();
  private isReady = false;
  private closed = false;

  /** Takes ownership of fd (a unix stream socket). Emits 'ready' once. */
  constructor(fd: number) {
    super();
    this.socket = new Socket({ fd, readable: true, writable: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // The instance went away; its exit is handled by whoever reaps it.
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => this.close());
  }

  get ready(): boolean {
    return this.isReady;
  }

  /** True when the instance answers within timeoutMs; false when it does
   * not, or the channel is closed. */
  ping(timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const msg = Buffer.alloc(CTL.size);
    msg.writeUInt32LE(CTL.ping, 0);
    msg.writeUInt32LE(seq, 4);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        resolve(false);
      }, timeoutMs);
      this.waiting.set(seq, (alive) => {
        clearTimeout(timer);
        resolve(alive);
      });
      this.socket.write(msg);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const done of this.waiting.values()) done(false);
    this.waiting.clear();
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    for (; this.pending.length - at >= CTL.size; at += CTL.size) {
      const type = this.pending.readUInt32LE(at);
      const seq = this.pending.readUInt32LE(at + 4);
      if (type === CTL.ready && !this.isReady) {
        this.isReady = true;
        this.emit('ready');
      } else if (type === CTL.pong) {
        this.waiting.get(seq)?.(true);
        this.waiting.delete(seq);
      }
      // Anything else from an instance is ignored: it is tenant code.
    }
    this.pending = this.pending.subarray(at);
    // A flood of bytes that are never a whole record is not kept.
    if (this.pending.length > 4096) this.pending = Buffer.alloc(0);
  }
}
