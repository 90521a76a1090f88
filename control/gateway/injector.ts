/**
 * Injects requests into a chain through a gateway endpoint and matches the
 * replies: what the HTTP gateway and the benchmarks build on.
 *
 * One copy in (the body into the pool, chunk by chunk as it arrives with
 * openBody), none on the way; the reply body is copied out and its buffer
 * freed at once, so a slow HTTP reader never holds pool memory.
 *
 * Ownership: a body buffer is the gateway's until it is sent; the stage that
 * accepts the descriptor takes it. A request given up on (timeout,
 * interrupt, close) frees its buffer only if no stage ever took it (a
 * descriptor lost in a dead instance's socket); whatever comes back for it
 * later is freed on arrival and otherwise ignored.
 */
import { decodeDescriptor, DESC_SIZE, FLAG_ERROR, statusName } from '../dataplane/descriptor.js';
import type { BufferRef, NativeInstance } from '../dataplane/native.js';
import type { InterruptSink } from '../ferryd/interrupts.js';

export interface Reply {
  requestId: bigint;
  /** 'ok', or why the request failed (functionError, noRoute, ...). */
  status: string;
  error: boolean;
  /** desc.flags and the raw desc.status (an HTTP status with FLAG_RESPONSE). */
  flags: number;
  statusCode: number;
  /** The last stage's body, copied out of the pool. */
  body: Uint8Array;
  hopCount: number;
  fromStage: number;
  offset: number;
  generation: number;
  /** The buffer the request was written into. */
  sent: { offset: number; generation: number };
}

export interface RequestOptions {
  /** Give up on the reply after this long (RequestTimeoutError). */
  timeoutMs?: number;
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

/** No reply within the request's timeout. */
export class RequestTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly stage: number,
    readonly timeoutMs: number,
  ) {
    super(`no reply from the chain within ${timeoutMs} ms (entry stage ${stage})`);
    this.name = 'RequestTimeoutError';
  }
}

/** An instance serving the request died (failInterrupted). */
export class RequestInterruptedError extends Error {
  readonly code = 'EINTERRUPTED';
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'RequestInterruptedError';
  }
}

/** The injector (or its endpoint) closed while the request waited. */
export class InjectorClosedError extends Error {
  readonly code = 'ECLOSED';
  constructor(reason: string) {
    super(reason);
    this.name = 'InjectorClosedError';
  }
}

/**
 * A request body being written straight into a pool buffer. Write the
 * chunks as they arrive, then send() it, or abort() to free the buffer.
 */
export interface BodyWriter {
  /** Most bytes it takes (the size asked of openBody). */
  readonly limit: number;
  /** Bytes written so far. */
  readonly length: number;
  /** Copies chunk in after what is there; false (and nothing written) when
   * it would go past limit. */
  write(chunk: Uint8Array): boolean;
  /** Hands the body to stage; the buffer is the chain's from now on. */
  send(stage: number, opts?: RequestOptions): Promise<Reply>;
  /** Frees the buffer unless it was sent; safe to call more than once. */
  abort(): void;
}

interface Pending {
  sent: { offset: number; generation: number };
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

const TAG_MASK = 0xffffffffn;

/** The pool tag a request id carries (see ferry_pool_tag). */
export function requestTag(requestId: bigint): number {
  return Number(requestId & TAG_MASK);
}

export class Injector implements InterruptSink {
  /** Starts at a random point so two gateways of a chain (other nodes,
   * restarts) rarely share live tags; ids stay below 2^53 (sent as doubles). */
  private nextId = BigInt(1 + Math.floor(Math.random() * 0x7fffffff));
  private readonly pending = new Map<bigint, Pending>();
  private readonly unsent = new Set<Body>();
  private readonly pool: Uint8Array;
  private closed = false;

  constructor(private readonly gw: NativeInstance) {
    this.pool = new Uint8Array(gw.buffer);
    gw.start((n) => {
      if (n < 0) return this.failAll(new InjectorClosedError('gateway endpoint closed'));
      for (let i = 0; i < n; i++) this.onReply(i);
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * A buffer of at least size bytes to write a body into. Throws the pool's
   * errors (code EPOOL_EXHAUSTED, ETOO_LARGE) or InjectorClosedError.
   */
  openBody(size: number): BodyWriter {
    if (this.closed) throw new InjectorClosedError('injector closed');
    const body = new Body(this, this.pool, this.gw.alloc(Math.max(size, 1)), size);
    this.unsent.add(body);
    return body;
  }

  /** Send body to stage; resolves with the chain's reply. Pool errors
   * (EPOOL_EXHAUSTED / ETOO_LARGE) and RequestRefusedError reject. */
  request(stage: number, body: Uint8Array | string, opts: RequestOptions = {}): Promise<Reply> {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    let writer: BodyWriter;
    try {
      writer = this.openBody(bytes.byteLength);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    writer.write(bytes);
    return writer.send(stage, opts);
  }

  /**
   * Fail at once the requests whose tag (low 32 bits of the request id) is
   * in tags: an instance holding them died. Returns how many it failed.
   */
  failInterrupted(tags: number[], reason: string): number {
    if (tags.length === 0 || this.pending.size === 0) return 0;
    const wanted = new Set(tags);
    let failed = 0;
    for (const [id, p] of this.pending) {
      if (!wanted.has(requestTag(id))) continue;
      this.abandon(id, p, new RequestInterruptedError(reason));
      failed++;
    }
    return failed;
  }

  /** @internal Body's side: the buffer left the writer (sent or freed). */
  release(body: Body, free: BufferRef | undefined): void {
    this.unsent.delete(body);
    if (free && !this.closed) this.freeQuietly(free.offset, free.generation);
  }

  /** @internal Body.send: put the descriptor on the wire. */
  dispatch(buf: BufferRef, length: number, stage: number, opts: RequestOptions): Promise<Reply> {
    if (this.closed) return Promise.reject(new InjectorClosedError('injector closed'));
    const requestId = this.nextId++;
    const rc = this.gw.send({ stage, offset: buf.offset, generation: buf.generation, length, requestId: Number(requestId) });
    if (rc !== 0) {
      this.freeQuietly(buf.offset, buf.generation);
      return Promise.reject(new RequestRefusedError(stage, rc));
    }
    const sent = { offset: buf.offset, generation: buf.generation };
    return new Promise<Reply>((resolve, reject) => {
      const p: Pending = { sent, resolve, reject };
      if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
        p.timer = setTimeout(() => this.abandon(requestId, p, new RequestTimeoutError(stage, opts.timeoutMs ?? 0)), opts.timeoutMs);
      }
      this.pending.set(requestId, p);
    });
  }

  private settle(requestId: bigint, p: Pending): void {
    this.pending.delete(requestId);
    if (p.timer) clearTimeout(p.timer);
  }

  /** Give up on a request: fail it, and free its buffer if no stage took
   * it (ownership is checked and moved atomically, so a stage taking it
   * right now either wins or finds it stale). */
  private abandon(requestId: bigint, p: Pending, err: Error): void {
    this.settle(requestId, p);
    if (!this.closed) {
      try {
        this.gw.freeIfOwned(p.sent.offset, p.sent.generation);
      } catch {
        // endpoint already closed: nothing of ours to free
      }
    }
    p.reject(err);
  }

  private onReply(i: number): void {
    const d = decodeDescriptor(this.gw.rx, i * DESC_SIZE);
    const body = this.pool.slice(d.offset, d.offset + d.length);
    this.freeQuietly(d.offset, d.generation);
    const p = this.pending.get(d.requestId);
    if (!p) return; // a reply nobody waits for (late, or forged): freed above
    this.settle(d.requestId, p);
    p.resolve({
      requestId: d.requestId,
      status: statusName(d.status),
      error: (d.flags & FLAG_ERROR) !== 0,
      flags: d.flags,
      statusCode: d.status,
      body,
      hopCount: d.hopCount,
      fromStage: d.fromStage,
      offset: d.offset,
      generation: d.generation,
      sent: p.sent,
    });
  }

  /** Runs inside the endpoint's poll callback, where a throw would take the
   * whole daemon down; a buffer that cannot be freed is the pool's to count. */
  private freeQuietly(offset: number, generation: number): void {
    try {
      this.gw.free(offset, generation);
    } catch {
      // counted in the pool's badFrees
    }
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) this.abandon(id, p, err);
  }

  close(): void {
    if (this.closed) return;
    for (const body of [...this.unsent]) body.abort();
    this.failAll(new InjectorClosedError('injector closed'));
    this.closed = true;
    this.gw.close();
  }
}

class Body implements BodyWriter {
  private written = 0;
  private buf: BufferRef | undefined;

  constructor(
    private readonly injector: Injector,
    private readonly pool: Uint8Array,
    buf: BufferRef,
    readonly limit: number,
  ) {
    this.buf = buf;
  }

  get length(): number {
    return this.written;
  }

  write(chunk: Uint8Array): boolean {
    if (!this.buf) throw new Error('request body already sent or aborted');
    if (this.written + chunk.byteLength > this.limit) return false;
    this.pool.set(chunk, this.buf.offset + this.written);
    this.written += chunk.byteLength;
    return true;
  }

  send(stage: number, opts: RequestOptions = {}): Promise<Reply> {
    const buf = this.buf;
    if (!buf) return Promise.reject(new Error('request body already sent or aborted'));
    this.buf = undefined;
    this.injector.release(this, undefined);
    return this.injector.dispatch(buf, this.written, stage, opts);
  }

  abort(): void {
    const buf = this.buf;
    if (!buf) return;
    this.buf = undefined;
    this.injector.release(this, buf);
  }
}
