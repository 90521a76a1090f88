/**
 * The `runtime: node` function SDK: what a handler module sees.
 *
 *   export default function handler(ctx: FerryContext) { return ctx.payload; }
 *
 * ctx.payload is a view straight into the chain's shared pool: nothing was
 * copied to get it there. What the handler returns becomes the next stage's
 * input:
 *   - ctx.payload itself (possibly edited in place, or a prefix of it):
 *     travels on with zero copies;
 *   - a buffer from ctx.alloc(n) (or a prefix of it): zero copies too;
 *   - any other Uint8Array, a string, or a JSON-able value: copied once into
 *     the pool (into the input buffer when it fits);
 *   - null / undefined: an empty body.
 * Throwing fails the request: the caller gets the message.
 */
export interface FerryContext {
  /** The input, zero-copy (valid until the handler's result is delivered). */
  readonly payload: Uint8Array;
  readonly requestId: bigint;
  /** This stage's name and the stages it may hand on to. */
  readonly stage: string;
  readonly nextStages: readonly string[];
  /** Room for an output written in place in shared memory. */
  alloc(size: number): Uint8Array;
  /** Choose the next stage (when `next` lists several); default: the first. */
  goto(stage: string): void;
  /** The payload decoded as UTF-8 / JSON. */
  text(): string;
  json<T = unknown>(): T;
}

export type HandlerResult = Uint8Array | string | number | boolean | object | null | undefined;

export type FerryHandler = (ctx: FerryContext) => HandlerResult | Promise<HandlerResult>;

/** Thrown by ctx.goto for a stage not in the `next` list. */
export class UnknownStageError extends Error {
  constructor(stage: string, allowed: readonly string[]) {
    super(`goto("${stage}"): not one of this stage's next stages [${allowed.join(', ')}]`);
    this.name = 'UnknownStageError';
  }
}
