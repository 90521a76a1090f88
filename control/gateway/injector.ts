/**
 * Injects requests into a chain through a gateway endpoint and matches the
 * replies: what the HTTP gateway and the benchmarks build on.
 *
 * One copy in (the body into the pool, chunk by chunk as it arrives with
 * openBody), none on the way. The reply body is copied out and its buffer
 * freed at once, unless the caller borrows it (RequestOptions.borrow): then
 * it is a view of the pool buffer, written to the client from there, and
 * the buffer is the caller's until it calls release() (the gateway does
 * when the write completed or the connection closed, and cuts a client that
 * reads too slowly before the buffer's deadline; see http.ts).
 *
 * Ownership: a body buffer is the gateway's until it is sent; the stage that
 * accepts the descriptor takes it. A request given up on (timeout,
 * interrupt, client gone, close) frees its buffer if no stage took it;
 * whatever comes back for it later is freed on arrival and otherwise
 * ignored. Every buffer of a request carries its deadline (its timeout and
 * a grace period): ferryd frees what a stage still holds past it, so no
 * request holds pool memory for longer than it may live.
 */
import { decodeDescriptor, DESC_SIZE, FLAG_ERROR, statusName } from '../dataplane/descriptor.js';
import { errorCode, native, type BufferRef, type NativeInstance } from '../dataplane/native.js';
import type { InterruptSink } from '../ferryd/interrupts.js';
import { KEY_MASK, KEY_SHIFT } from '../node/router/pick.js';

export interface Reply {
  requestId: bigint;
  /** 'ok', or why the request failed (functionError, noRoute, ...). */
  status: string;
  error: boolean;
  /** desc.flags and the raw desc.status (an HTTP status with FLAG_RESPONSE). */
  flags: number;
  statusCode: number;
  /** The last stage's body: copied out of the pool, or, when borrowed, a
   * view of the pool buffer that is valid until release(). */
  body: Uint8Array;
  /** Gives a borrowed reply's buffer back to the pool (once; later calls
   * do nothing). A no-op for a copied reply. */
  release(): void;
  /** Moves a borrowed reply's deadline (native.nowMs() clock): ferryd takes
   * the buffer back then if it was not released. A no-op for a copy. */
  holdUntil(deadlineMs: number): void;
  hopCount: number;
  fromStage: number;
  offset: number;
  generation: number;
  /** The buffer the request was written into. */
  sent: { offset: number; generation: number };
}

export interface RequestOptions {
  /** Give up on the reply after this long (RequestTimeoutError); the
   * request's buffers are taken back GRACE_MS later whoever holds them. */
  timeoutMs?: number;
  /** Give up when this aborts (the client went away): ClientGoneError. */
  signal?: AbortSignal;
  /** The request's key hash (request-key.ts): carried in bits 32..52 of
   * its id, so a consistent-hash stage sends it to the key's instance. */
  key?: number;
  /** Borrow the reply's buffer instead of copying the body out: the caller
   * must release() it, and must stop using the view when the injector calls
   * onRevoke (it is closing: the pool goes away). */
  borrow?: { onRevoke: () => void };
}

/** After a request's timeout, how long its buffers may still be held
 * before ferryd takes them back (a reply racing the timeout is freed by
 * the gateway on arrival instead). */
export const GRACE_MS = 1000;

export interface InjectorOptions {
  /** Called when the pool has no buffer for a body: grow it if the quotas
   * allow (true), so only a full quota means "exhausted". */
  relieve?: (size: number) => boolean;
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

/** The client gave up on the request (its connection closed). */
export class ClientGoneError extends Error {
  readonly code = 'ECLIENTGONE';
  constructor() {
    super('the client went away before the reply');
    this.name = 'ClientGoneError';
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
  /** What was written so far, in the pool (valid until send or abort). */
  bytes(): Uint8Array;
  /** Hands the body to stage; the buffer is the chain's from now on. */
  send(stage: number, opts?: RequestOptions): Promise<Reply>;
  /** Frees the buffer unless it was sent; safe to call more than once. */
  abort(): void;
  /** Give the unsent buffer a deadline (native.nowMs() clock): ferryd
   * takes it back then, if it was neither sent nor aborted by then. */
  holdUntil(deadlineMs: number): void;
}

/** A pool buffer the caller keeps, with no deadline, until free(): an
 * aggregation job's sealed model (control/ferryd/jobs/). */
export interface HeldBuffer {
  offset: number;
  generation: number;
  /** Its bytes in the pool (valid until free, or until the injector closes). */
  bytes: Uint8Array;
  /** Gives it back to the pool; later calls do nothing. */
  free(): void;
}

interface Pending {
  sent: { offset: number; generation: number };
  borrow?: { onRevoke: () => void };
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  unlisten?: () => void;
}

const TAG_MASK = 0xffffffffn;

const noop = () => undefined;

/** The pool tag a request id carries (see ferry_pool_tag). */
export function requestTag(requestId: bigint): number {
  return Number(requestId & TAG_MASK);
}

export class Injector implements InterruptSink {
  /** The low 32 bits of request ids (their pool tag): starts at a random
   * point so two gateways of a chain (other nodes, restarts) rarely share
   * live tags. Bits 32..52 carry the request's key; ids stay below 2^53
   * (sent as doubles). */
  private counter = 1 + Math.floor(Math.random() * 0x7fffffff);
  private readonly pending = new Map<bigint, Pending>();
  private readonly unsent = new Set<Body>();
  /** Borrowed replies not yet released, and what to do if the pool goes. */
  private readonly lent = new Map<number, () => void>();
  private readonly pool: Uint8Array;
  private closed = false;

  constructor(
    private readonly gw: NativeInstance,
    private readonly opts: InjectorOptions = {},
  ) {
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
    const body = new Body(this, this.pool, this.alloc(Math.max(size, 1)), size);
    this.unsent.add(body);
    return body;
  }

  /** A buffer, growing the pool once when it is exhausted and may grow. */
  private alloc(size: number): BufferRef {
    try {
      return this.gw.alloc(size);
    } catch (err) {
      if (errorCode(err) !== 'EPOOL_EXHAUSTED' || !this.opts.relieve?.(size)) throw err;
      return this.gw.alloc(size);
    }
  }

  /** A buffer of size bytes to keep (no deadline) until its free(); it is
   * never sent, only named in messages (a job's round-0 model). */
  lease(size: number): HeldBuffer {
    if (this.closed) throw new InjectorClosedError('injector closed');
    const buf = this.alloc(Math.max(size, 1));
    let held = true;
    return {
      offset: buf.offset,
      generation: buf.generation,
      bytes: this.pool.subarray(buf.offset, buf.offset + size),
      free: () => {
        if (!held) return;
        held = false;
        if (!this.closed) this.freeQuietly(buf.offset, buf.generation);
      },
    };
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

  /** @internal Body.holdUntil */
  label(buf: Pick<BufferRef, 'offset' | 'generation'>, deadlineMs: number): void {
    try {
      this.gw.label(buf.offset, buf.generation, 0, deadlineMs);
    } catch {
      // already gone: nothing to label
    }
  }

  /** @internal Body.send: put the descriptor on the wire. */
  dispatch(buf: BufferRef, length: number, stage: number, opts: RequestOptions): Promise<Reply> {
    if (this.closed) return Promise.reject(new InjectorClosedError('injector closed'));
    if (opts.signal?.aborted) {
      this.freeQuietly(buf.offset, buf.generation);
      return Promise.reject(new ClientGoneError());
    }
    const requestId = (BigInt((opts.key ?? 0) & KEY_MASK) << BigInt(KEY_SHIFT)) | BigInt(this.counter);
    this.counter = (this.counter + 1) % 0x1_0000_0000 || 1;
    const timeoutMs = opts.timeoutMs ?? 0;
    const deadlineMs = timeoutMs > 0 ? (native.nowMs() + timeoutMs + GRACE_MS) >>> 0 || 1 : 0;
    const rc = this.gw.send({ stage, offset: buf.offset, generation: buf.generation, length, requestId: Number(requestId), deadlineMs });
    if (rc !== 0) {
      this.freeQuietly(buf.offset, buf.generation);
      return Promise.reject(new RequestRefusedError(stage, rc));
    }
    const sent = { offset: buf.offset, generation: buf.generation };
    return new Promise<Reply>((resolve, reject) => {
      const p: Pending = { sent, resolve, reject, borrow: opts.borrow };
      if (timeoutMs > 0) p.timer = setTimeout(() => this.abandon(requestId, p, new RequestTimeoutError(stage, timeoutMs)), timeoutMs);
      if (opts.signal) {
        const onAbort = () => this.abandon(requestId, p, new ClientGoneError());
        opts.signal.addEventListener('abort', onAbort, { once: true });
        p.unlisten = () => opts.signal?.removeEventListener('abort', onAbort);
      }
      this.pending.set(requestId, p);
    });
  }

  private settle(requestId: bigint, p: Pending): void {
    this.pending.delete(requestId);
    if (p.timer) clearTimeout(p.timer);
    p.unlisten?.();
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
    // A reply that lost the race with its deadline names a buffer ferryd
    // already took back (and may have handed out again): not ours to read.
    try {
      this.gw.capacity(d.offset, d.generation);
    } catch {
      const late = this.pending.get(d.requestId);
      if (late) this.abandon(d.requestId, late, new RequestTimeoutError(d.stage, 0));
      return;
    }
    const p = this.pending.get(d.requestId);
    if (!p) {
      this.freeQuietly(d.offset, d.generation); // a reply nobody waits for (late, or forged)
      return;
    }
    this.settle(d.requestId, p);
    let body: Uint8Array;
    let release = noop;
    let holdUntil: (deadlineMs: number) => void = noop;
    if (p.borrow) {
      body = this.pool.subarray(d.offset, d.offset + d.length);
      const { offset, generation } = d;
      const key = offset;
      this.lent.set(key, p.borrow.onRevoke);
      release = () => {
        if (this.lent.get(key) !== p.borrow?.onRevoke) return;
        this.lent.delete(key);
        if (!this.closed) this.freeQuietly(offset, generation);
      };
      holdUntil = (deadlineMs) => {
        if (this.lent.has(key) && !this.closed) this.label({ offset, generation }, deadlineMs);
      };
    } else {
      body = this.pool.slice(d.offset, d.offset + d.length);
      this.freeQuietly(d.offset, d.generation);
    }
    p.resolve({
      requestId: d.requestId,
      status: statusName(d.status),
      error: (d.flags & FLAG_ERROR) !== 0,
      flags: d.flags,
      statusCode: d.status,
      body,
      release,
      holdUntil,
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
    // Whoever still writes from a borrowed buffer stops before the pool is
    // unmapped (the gateway destroys that client's connection).
    for (const revoke of [...this.lent.values()]) revoke();
    this.lent.clear();
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

  bytes(): Uint8Array {
    if (!this.buf) throw new Error('request body already sent or aborted');
    return this.pool.subarray(this.buf.offset, this.buf.offset + this.written);
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

  holdUntil(deadlineMs: number): void {
    if (this.buf) this.injector.label(this.buf, deadlineMs);
  }
}
