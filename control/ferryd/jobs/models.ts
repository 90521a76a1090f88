/**
 * A job's sealed global models: each one pool buffer (a 64-byte MODEL
 * header, then the float32s), shared by reference with every reader and
 * never copied per client. The store keeps the last 2 rounds' models (a
 * failed round's model is its predecessor's: one buffer named by two
 * rounds); a model no kept round names any more is freed as soon as its
 * last reader (an HTTP reply being written, a gRPC download) is done.
 */
import { HEADER_SIZE } from '../../fl/wire.js';
import type { HeldBuffer } from '../../gateway/injector.js';

/** How many rounds' models are kept (control/fl/DESIGN.md). */
export const KEPT_ROUNDS = 2;

export class SealedModel {
  private readers = 0;
  private named = 0;
  private freed = false;

  constructor(
    /** The round this model opened (its first name). */
    readonly round: number,
    private readonly buf: HeldBuffer,
    readonly paramCount: number,
  ) {}

  get offset(): number {
    return this.buf.offset;
  }

  get generation(): number {
    return this.buf.generation;
  }

  /** The float32 values (4 * paramCount bytes), in the pool. */
  get params(): Uint8Array {
    return this.buf.bytes.subarray(HEADER_SIZE, HEADER_SIZE + 4 * this.paramCount);
  }

  /** The whole MODEL message (header + values): what ships to followers. */
  get message(): Uint8Array {
    return this.buf.bytes.subarray(0, HEADER_SIZE + 4 * this.paramCount);
  }

  get live(): boolean {
    return !this.freed;
  }

  /** A reader starts: the buffer stays until the returned release() (once). */
  acquire(): () => void {
    if (this.freed) throw new Error(`round ${this.round}'s model was already freed`);
    this.readers++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.readers--;
      this.maybeFree();
    };
  }

  /** @internal the store names it for one more / one less round. */
  name(delta: 1 | -1): void {
    this.named += delta;
    this.maybeFree();
  }

  /** @internal the store is closing: the pool goes away under any reader. */
  drop(): void {
    this.named = 0;
    this.readers = 0;
    this.maybeFree();
  }

  private maybeFree(): void {
    if (this.freed || this.named > 0 || this.readers > 0) return;
    this.freed = true;
    this.buf.free();
  }
}

export class ModelStore {
  private readonly byRound = new Map<number, SealedModel>();
  private readonly waiters = new Map<number, Set<(m: SealedModel | undefined) => void>>();
  private newest = -1;
  private closed = false;

  /** The latest sealed round, -1 before round 0's. */
  get latest(): number {
    return this.newest;
  }

  get(round: number): SealedModel | undefined {
    return this.byRound.get(round);
  }

  /** Distinct buffers live now (what the pool must hold for models). */
  liveBuffers(): number {
    return new Set(this.byRound.values()).size;
  }

  /** Round's model is sealed: it may be the previous round's (by
   * reference). Rounds older than the last KEPT_ROUNDS are let go. */
  seal(round: number, model: SealedModel): void {
    if (this.closed) return model.drop();
    if (round <= this.newest) throw new Error(`round ${round} sealed after round ${this.newest}`);
    model.name(1);
    this.byRound.set(round, model);
    this.newest = round;
    for (const [r, ws] of this.waiters)
      if (r <= round) {
        this.waiters.delete(r);
        for (const w of ws) w(this.byRound.get(r));
      }
    // After the waiters: freeing a model-sized buffer punches a hole in the
    // pool (10-20 ms at 47 MB), which clients of the new model need not wait for.
    for (const [r, m] of this.byRound)
      if (r <= round - KEPT_ROUNDS) {
        this.byRound.delete(r);
        m.name(-1);
      }
  }

  /** Resolves with round's model once sealed (undefined if it is gone or
   * not sealed within timeoutMs, or the store closed). */
  waitFor(round: number, timeoutMs: number, signal?: AbortSignal): Promise<SealedModel | undefined> {
    if (round <= this.newest || this.closed || timeoutMs <= 0) return Promise.resolve(this.byRound.get(round));
    return new Promise((resolve) => {
      const ws = this.waiters.get(round) ?? new Set();
      this.waiters.set(round, ws);
      const done = (m: SealedModel | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        ws.delete(done);
        resolve(m);
      };
      const onAbort = () => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      ws.add(done);
    });
  }

  /** Forget every model (the home they came from started over): the
   * next one sealed may be any round. Readers keep what they hold. */
  reset(): void {
    for (const m of new Set(this.byRound.values())) m.name(-1);
    this.byRound.clear();
    this.newest = -1;
  }

  close(): void {
    this.closed = true;
    for (const ws of this.waiters.values()) for (const w of ws) w(undefined);
    this.waiters.clear();
    for (const m of new Set(this.byRound.values())) m.drop();
    this.byRound.clear();
  }
}
