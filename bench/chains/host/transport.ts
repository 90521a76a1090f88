/**
 * How a baseline's processes call each other: every hop carries the
 * payload one way and an HttpAnswer (relayed unchanged by every stage on
 * the way back) the other. R is the answer as it travels on the wire,
 * so a stage relays it without decoding it.
 */
import type { HttpAnswer } from './answer.js';

export interface CallOptions {
  /** The request's id (ctx.requestId), carried to every stage as ferry's
   * descriptor carries it: x-request-id (HTTP header or gRPC metadata). */
  requestId: bigint;
  /** The caller went away or gave up: stop waiting (the answer is then dropped). */
  signal?: AbortSignal;
}

/** Calls to one stage, round robin over its instances. Never throws: a
 * failed call is an answer in ferry's words (502 instanceDied). */
export interface Hop<R> {
  call(body: Uint8Array, opts: CallOptions): Promise<R>;
  close(): void;
}

export interface Served {
  close(): Promise<void>;
}

export interface Transport<R> {
  readonly name: 'http' | 'grpc';
  /** Serves handle on 127.0.0.1:port; resolves once listening. */
  serve(port: number, handle: (body: Buffer, requestId: bigint) => Promise<R>): Promise<Served>;
  /** targets: "127.0.0.1:PORT" of each instance; chain: for error messages. */
  hop(targets: readonly string[], chain: string): Hop<R>;
  fromAnswer(a: HttpAnswer): R;
  toAnswer(r: R): HttpAnswer;
}

export const REQUEST_ID = 'x-request-id';

/** A request id as sent (decimal), or undefined. */
export function parseRequestId(v: unknown): bigint | undefined {
  return typeof v === 'string' && /^[0-9]{1,19}$/.test(v) ? BigInt(v) : undefined;
}

/** Round robin over a list (one cursor per hop). */
export function roundRobin<T>(items: readonly T[]): () => T {
  if (items.length === 0) throw new Error('a hop needs at least one target instance');
  let i = 0;
  return () => {
    const item = items[i]!;
    i = (i + 1) % items.length;
    return item;
  };
}
