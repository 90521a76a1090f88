/**
 * ferryd's end of an instance's control channel (struct ferry_ctl_msg in
 * dataplane-native/include/ferry/abi.h): the instance says when it is ready
 * to be routed to, answers liveness pings from its own event loop, so an
 * instance stuck in a handler is told apart from one that is only busy,
 * and reports the service times of its requests when asked.
 */
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { native } from '../dataplane/native.js';

const CTL = native.layout.control;

/** What an instance measured of its requests since its last report
 * (struct ferry_ctl_stats). */
export interface ServiceReport {
  completions: number;
  busyUs: number;
  /** Service-time histogram, by bucket (control/metrics/histogram.ts). */
  buckets: Uint32Array;
}

export class ControlChannel extends EventEmitter {
  private readonly socket: Socket;
  private pending: Buffer = Buffer.alloc(0);
  private seq = 0;
  private readonly waiting = new Map<number, (alive: boolean) => void>();
  private statsWaiting: ((r: ServiceReport | undefined) => void)[] = [];
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

  /** The instance's report since its last one; undefined when it does not
   * answer within timeoutMs (busy, stuck) or the channel is closed. */
  stats(timeoutMs: number): Promise<ServiceReport | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const msg = Buffer.alloc(CTL.size);
    msg.writeUInt32LE(CTL.statsReq, 0);
    return new Promise((resolve) => {
      let settled = false;
      const done = (r: ServiceReport | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.statsWaiting = this.statsWaiting.filter((w) => w !== done);
        done(undefined);
      }, timeoutMs);
      this.statsWaiting.push(done);
      this.socket.write(msg);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const done of this.waiting.values()) done(false);
    this.waiting.clear();
    for (const done of this.statsWaiting.splice(0)) done(undefined);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (this.pending.length - at >= CTL.size) {
      const type = this.pending.readUInt32LE(at);
      const seq = this.pending.readUInt32LE(at + 4);
      if (type === CTL.stats) {
        // A report: seq bytes of struct ferry_ctl_stats follow the record.
        if (seq !== CTL.statsSize) {
          // Not what this ferryd speaks: drop everything we hold, the
          // stream cannot be resynchronised reliably.
          at = this.pending.length;
          break;
        }
        if (this.pending.length - at < CTL.size + seq) break; // the rest is still coming
        const body = this.pending.subarray(at + CTL.size, at + CTL.size + seq);
        this.statsWaiting.shift()?.(parseReport(body));
        at += CTL.size + seq;
        continue;
      }
      if (type === CTL.ready && !this.isReady) {
        this.isReady = true;
        this.emit('ready');
      } else if (type === CTL.pong) {
        this.waiting.get(seq)?.(true);
        this.waiting.delete(seq);
      }
      // Anything else from an instance is ignored: it is tenant code.
      at += CTL.size;
    }
    this.pending = this.pending.subarray(at);
    // A flood of bytes that are never a whole record is not kept.
    if (this.pending.length > 4 * (CTL.size + CTL.statsSize)) this.pending = Buffer.alloc(0);
  }
}

/** struct ferry_ctl_stats: two u64, then the buckets (little-endian). The
 * instance is tenant code: its figures are taken as hints, bounded. */
function parseReport(b: Buffer): ServiceReport {
  const buckets = new Uint32Array(CTL.histBuckets);
  for (let i = 0; i < CTL.histBuckets; i++) buckets[i] = b.readUInt32LE(16 + 4 * i);
  return { completions: Number(b.readBigUInt64LE(0)), busyUs: Number(b.readBigUInt64LE(8)), buckets };
}
