/**
 * Injects requests into a chain through a gateway endpoint and matches the
 * replies: what the HTTP gateway and the benchmarks build on.
 *
 * One copy in (the body into the pool), none on the way; the reply body is
 * handed out as a view and its buffer freed when the caller is done.
 */
import { decodeDescriptor, DESC_SIZE, FLAG_ERROR, statusName } from '../dataplane/descriptor.js';
import type { NativeInstance } from '../dataplane/native.js';

export interface Reply {
  requestId: bigint;
  /** 'ok', or why the request failed (functionError, noRoute, ...). */
  status: string;
  error: boolean;
  /** The last stage's body, copied out of the pool. */
  body: Uint8Array;
  hopCount: number;
  fromStage: number;
  offset: number;
  generation: number;
  /** The buffer the request was written into. */
  sent: { offset: number; generation: number };
}

/** The router refused the request outright (eBPF drop on send). */
export class RequestRefusedError extends Error {
  readonly code = 'EREFUSED';
  constructor(
    readonly stage: number,
    readonly errno: number,
  ) {
    super(`request to stage ${stage} refused by the router (errno ${-errno}): no live instance or edge not allowed`);
    this.name = 'RequestRefusedError';
  }
}

interface Pending {
  sent: { offset: number; generation: number };
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

export class Injector {
  private nextId = 1n;
  private readonly pending = new Map<bigint, Pending>();
  private readonly pool: Uint8Array;

  constructor(private readonly gw: NativeInstance) {
    this.pool = new Uint8Array(gw.buffer);
    gw.start((n) => {
      if (n < 0) return this.failAll(new Error('gateway endpoint closed'));
      for (let i = 0; i < n; i++) this.onReply(i);
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Send body to stage; resolves with the chain's reply. Throws
   * EPOOL_EXHAUSTED / ETOO_LARGE synchronously-rejected, or RequestRefusedError. */
  request(stage: number, body: Uint8Array | string): Promise<Reply> {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    let buf;
    try {
      buf = this.gw.alloc(Math.max(bytes.byteLength, 1));
    } catch (err) {
      return Promise.reject(err as Error);
    }
    this.pool.set(bytes, buf.offset);
    const requestId = this.nextId++;
    const rc = this.gw.send({
      stage,
      offset: buf.offset,
      generation: buf.generation,
      length: bytes.byteLength,
      requestId: Number(requestId),
    });
    if (rc !== 0) {
      this.gw.free(buf.offset, buf.generation);
      return Promise.reject(new RequestRefusedError(stage, rc));
    }
    const sent = { offset: buf.offset, generation: buf.generation };
    return new Promise<Reply>((resolve, reject) => this.pending.set(requestId, { sent, resolve, reject }));
  }

  private onReply(i: number): void {
    const d = decodeDescriptor(this.gw.rx, i * DESC_SIZE);
    const body = this.pool.slice(d.offset, d.offset + d.length);
    this.gw.free(d.offset, d.generation);
    const p = this.pending.get(d.requestId);
    if (!p) return; // a reply nobody waits for (late, or forged): freed above
    this.pending.delete(d.requestId);
    p.resolve({
      requestId: d.requestId,
      status: statusName(d.status),
      error: (d.flags & FLAG_ERROR) !== 0,
      body,
      hopCount: d.hopCount,
      fromStage: d.fromStage,
      offset: d.offset,
      generation: d.generation,
      sent: p.sent,
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  close(): void {
    this.failAll(new Error('injector closed'));
    this.gw.close();
  }
}
