/**
 * The baseline's rounds: Flower's FedAvg strategy / Flame's top aggregator
 * in one object. Every admitted update is kept whole in memory until its
 * round closes (the architecture under test: memory grows with the number
 * of clients), then averaged with ferry's rule (control/fl/DESIGN.md):
 * model_{R+1} = model_R + sum w_i d_i / sum w_i, w_i = num_examples (or 1
 * under uniform). The round rules are ferry's as far as the bench needs
 * them: a round closes with `clients` updates, or at its deadline with at
 * least `quorum` (else it fails and R+1's model is R's); stragglers are
 * dropped (no late-merge). No gRPC here: server.ts is the door.
 */
import { CLIENT_ID, DTYPE_FLOAT32, HEADER_SIZE, UPDATE_MAGIC, UPDATE_VERSION, decodeUpdateHeader, type UpdateHeader } from '../../../control/fl/wire.js';
import { allFinite, fold } from './fold.js';

export interface Rules {
  paramCount: number;
  rounds: number;
  clients: number;
  quorum: number;
  roundDeadlineMs: number;
  weighting: 'num-examples' | 'uniform';
}

/** One of ferry's error codes (control/fl/DESIGN.md, "Errors"). */
export class FlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RoundStat {
  round: number;
  updates: number;
  aggregationMs: number;
  roundMs: number;
  failed: boolean;
}

/**
 * User-space copies the baseline makes per byte, counted from grpc-js and
 * Node's http2 (the kernel's own socket copies are not counted, for ferry
 * neither): an upload's bytes are copied out of nghttp2 into a DATA chunk
 * Buffer, then reassembled into one message Buffer by grpc-js's stream
 * decoder (Buffer.concat), then (protobufjs decodes `bytes` as a view, no
 * copy) into the update kept until round end: 3. A served model's bytes
 * are copied by protobufjs's encoder and again into grpc-js's framed
 * message: 2 per reader. Finishing a round copies the base model into the
 * new one: 1.
 */
export const COPIES = { upload: 3, download: 2, finish: 1 } as const;

interface Kept {
  delta: Float32Array;
  weight: number;
}

/** An upload under way: its header read, its tensor being filled. */
export interface Upload {
  readonly header: UpdateHeader;
  readonly weight: number;
  readonly tensor: Float32Array;
  /** Bytes of the tensor written so far. */
  filled: number;
}

type Waiter = () => void;

export class FedAvgRounds {
  /** The open round; === rules.rounds once done. */
  round = 0;
  accepted = 0;
  readonly rejected = new Map<string, number>();
  readonly stats: RoundStat[] = [];
  bytesReceived = 0;
  bytesCopied = 0;
  private readonly models = new Map<number, Float32Array>();
  private readonly kept = new Map<string, Kept>();
  private readonly inFlight = new Set<string>();
  private openedAt = performance.now();
  private lastArrival = 0;
  private deadline: NodeJS.Timeout | undefined;
  private waiters: Waiter[] = [];

  constructor(
    readonly rules: Rules,
    initial: Float32Array,
  ) {
    if (initial.length !== rules.paramCount) throw new RangeError(`the initial model has ${initial.length} values, the rules say ${rules.paramCount}`);
    if (rules.quorum < 1 || rules.quorum > rules.clients) throw new RangeError(`quorum ${rules.quorum} must be 1..clients (${rules.clients})`);
    this.models.set(0, initial);
    this.open();
  }

  get done(): boolean {
    return this.round >= this.rules.rounds;
  }

  /** The sealed model of `round`, or why not. */
  model(round: number): Float32Array {
    const m = this.models.get(round);
    if (m) return m;
    if (round > this.round) throw new FlError('roundNotReady', `round ${round}'s model is not ready (round ${this.round} is open)`);
    throw new FlError('roundGone', `round ${round}'s model is no longer kept (only the last 2 are)`);
  }

  /** Resolves once `round`'s model is sealed or ms passed. */
  waitForModel(round: number, ms: number): Promise<void> {
    if (this.models.has(round) || round > this.rules.rounds || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve();
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
    });
  }

  /** A rejection, counted; the caller sends it to the client. */
  reject(code: string, message: string): FlError {
    this.rejected.set(code, (this.rejected.get(code) ?? 0) + 1);
    return new FlError(code, message);
  }

  /** Check an upload's header (the first 64 bytes) for round `round` and
   * reserve its tensor; throws a counted FlError. */
  begin(round: number, headerBytes: Uint8Array): Upload {
    if (headerBytes.byteLength < HEADER_SIZE) throw this.reject('badHeader', `an update starts with a ${HEADER_SIZE}-byte header; got ${headerBytes.byteLength} bytes in all`);
    const h = decodeUpdateHeader(headerBytes);
    const reserved = new DataView(headerBytes.buffer, headerBytes.byteOffset + 20, 4).getUint32(0, true);
    if (h.magic !== UPDATE_MAGIC || h.version !== UPDATE_VERSION || reserved !== 0) throw this.reject('badHeader', 'not an FLU1 version 1 update header (magic, version or reserved)');
    if (h.dtype !== DTYPE_FLOAT32) throw this.reject('badDtype', `dtype ${h.dtype}: only float32 (1) is accepted`);
    if (h.numExamples === 0) throw this.reject('badHeader', 'num_examples must be > 0');
    if (!CLIENT_ID.test(h.clientId)) throw this.reject('badHeader', `client id "${h.clientId}" must be 1-40 of [A-Za-z0-9._-]`);
    if (h.round !== round) throw this.reject('badHeader', `the header says round ${h.round}, the request round ${round}`);
    if (h.paramCount !== this.rules.paramCount) throw this.reject('badTensorSize', `param_count ${h.paramCount}, the job's model has ${this.rules.paramCount}`);
    this.checkOpen(round);
    if (this.kept.has(h.clientId) || this.inFlight.has(h.clientId)) throw this.reject('duplicateUpdate', `client ${h.clientId} already has an update in round ${round}`);
    this.inFlight.add(h.clientId);
    const weight = this.rules.weighting === 'uniform' ? 1 : h.numExamples;
    return { header: h, weight, tensor: new Float32Array(this.rules.paramCount), filled: 0 };
  }

  /** Copy the next bytes of an upload's tensor in (the keep copy). */
  fill(u: Upload, bytes: Uint8Array): void {
    const room = u.tensor.byteLength - u.filled;
    if (bytes.byteLength > room) {
      this.abandon(u);
      throw this.reject('badTensorSize', `the update is longer than ${HEADER_SIZE} + 4 * ${this.rules.paramCount} bytes`);
    }
    new Uint8Array(u.tensor.buffer, u.filled, bytes.byteLength).set(bytes);
    u.filled += bytes.byteLength;
  }

  /** The client went away (or failed) mid-upload: forget it, count it. */
  disconnected(u: Upload): void {
    this.abandon(u);
    this.rejected.set('disconnected', (this.rejected.get('disconnected') ?? 0) + 1);
  }

  /** The last byte arrived: check and keep it until the round closes. */
  finish(u: Upload): { round: number; weight: number } {
    // As ferry's coordinator: the body is complete now (checks come after).
    const arrived = performance.now();
    this.abandon(u);
    if (u.filled !== u.tensor.byteLength) throw this.reject('badTensorSize', `the update ended after ${HEADER_SIZE + u.filled} bytes; ${HEADER_SIZE + u.tensor.byteLength} expected`);
    if (!allFinite(u.tensor)) throw this.reject('nonFiniteUpdate', 'the delta holds a NaN or an infinity');
    // It may have closed while the bytes came in: a straggler, dropped.
    this.checkOpen(u.header.round);
    if (this.kept.has(u.header.clientId)) throw this.reject('duplicateUpdate', `client ${u.header.clientId} already has an update in round ${u.header.round}`);
    const bytes = HEADER_SIZE + u.tensor.byteLength;
    this.bytesReceived += bytes;
    this.bytesCopied += COPIES.upload * bytes;
    this.kept.set(u.header.clientId, { delta: u.tensor, weight: u.weight });
    this.accepted++;
    this.lastArrival = arrived;
    const round = this.round;
    if (this.kept.size >= this.rules.clients) this.close();
    return { round, weight: u.weight };
  }

  /** Count a model served to one reader (its copies). */
  served(bytes: number): void {
    this.bytesCopied += COPIES.download * bytes;
  }

  /** Stop the deadline timer (the server is going away). */
  stop(): void {
    clearTimeout(this.deadline);
    for (const w of this.waiters.splice(0)) w();
  }

  private abandon(u: Upload): void {
    this.inFlight.delete(u.header.clientId);
  }

  private checkOpen(round: number): void {
    if (this.done) throw this.reject('jobDone', `every round (${this.rules.rounds}) is done`);
    if (round > this.round) throw this.reject('roundNotOpen', `round ${round} is not open yet (round ${this.round} is)`);
    if (round < this.round) throw this.reject('roundClosed', `round ${round} is closed (round ${this.round} is open)`);
  }

  private open(): void {
    this.openedAt = performance.now();
    this.lastArrival = 0;
    if (this.done) return;
    this.deadline = setTimeout(() => this.close(), this.rules.roundDeadlineMs);
  }

  /** All of round R's updates in, or its deadline: average, seal R+1. */
  private close(): void {
    clearTimeout(this.deadline);
    const R = this.round;
    const base = this.models.get(R)!;
    const updates = this.kept.size;
    const failed = updates < this.rules.quorum;
    let next = base;
    if (!failed) {
      // Flower's aggregate(): everything was kept; now one pass per update.
      const acc = new Float32Array(this.rules.paramCount);
      let W = 0;
      for (const k of this.kept.values()) {
        fold(acc, k.delta, k.weight);
        W += k.weight;
      }
      next = new Float32Array(base);
      this.bytesCopied += COPIES.finish * base.byteLength;
      fold(next, acc, 1 / W);
    }
    const sealed = performance.now();
    this.stats.push({ round: R, updates, failed, roundMs: sealed - this.openedAt, aggregationMs: failed || this.lastArrival === 0 ? 0 : sealed - this.lastArrival });
    this.kept.clear();
    this.models.set(R + 1, next);
    this.models.delete(R - 1);
    this.round = R + 1;
    this.open();
    for (const w of this.waiters.splice(0)) w();
  }
}
