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
 *   - any other Uint8Array: copied once into the pool (into the input
 *     buffer when it fits);
 *   - a string or a JSON-able value: encoded straight into the pool (the
 *     input buffer when it fits), no intermediate bytes: returning an object
 *     costs its JSON.stringify and one UTF-8 encode, as ctx.json() costs
 *     one decode and its JSON.parse;
 *   - ctx.annotate({...}): the input with members added, in place;
 *   - null / undefined: an empty body.
 * Throwing fails the request: the caller gets the message (HTTP 500).
 *
 * A function may also answer the caller itself, from any stage (the
 * request goes no further), with any status and content type:
 *
 *   if (!order.items) return ctx.respond(422, { missing: 'items' });
 *   throw new HttpError(404, `no product "${id}"`, { code: 'unknownProduct' });
 *
 * ctx.respond's body is anything a handler may return, with the same copy
 * rules; without a content type the gateway infers one, as for a plain
 * reply. A thrown HttpError answers ferry's JSON error shape,
 * {"error":{"code","message","chain"}}, with its status, code and message.
 */
import { ANSWER_STATUS, contentTypeProblem, statusProblem } from '../dataplane/response.js';

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
  /** An answer for the caller (return it): status 200..599, body as a
   * handler's result, content type (default: inferred from the body).
   * Throws for a status or content type HTTP cannot carry. */
  respond(status: number, body?: HandlerResult, contentType?: string): FerryResponse;
  /** The payload decoded as UTF-8 / JSON. */
  text(): string;
  json<T = unknown>(): T;
  /** One top-level member of a JSON object payload, parsed alone; the
   * rest is only scanned, never decoded (undefined: no such member). For a
   * stage that routes on a field. Throws when the payload is not an object. */
  field<T = unknown>(name: string): T | undefined;
  /** The JSON object payload with these members added at its end, without
   * parsing it: written in place in shared memory when it fits (return it,
   * and it travels on with zero copies), else into a buffer of its own.
   * A member already there of the same name is shadowed (JSON.parse keeps
   * the last). Throws when the payload is not an object. */
  annotate(fields: Record<string, unknown>): Uint8Array;
}

export type HandlerResult = Uint8Array | string | number | boolean | object | null | undefined;

export type FerryHandler = (ctx: FerryContext) => HandlerResult | Promise<HandlerResult>;

const RESPONSE = Symbol.for('ferry.response');
const HTTP_ERROR = Symbol.for('ferry.httpError');

/** A function's own answer (ctx.respond). Branded rather than matched with
 * instanceof, so a handler bundling its own copy of this module still works. */
export class FerryResponse {
  readonly [RESPONSE] = true;
  readonly contentType: string;

  constructor(
    readonly status: number,
    readonly body: HandlerResult,
    contentType = '',
  ) {
    const problem = statusProblem(status, ANSWER_STATUS) ?? contentTypeProblem(contentType);
    if (problem) throw new TypeError(`ctx.respond: ${problem}`);
    this.contentType = contentType;
  }
}

export function isFerryResponse(v: unknown): v is FerryResponse {
  return typeof v === 'object' && v !== null && (v as { [RESPONSE]?: unknown })[RESPONSE] === true;
}

/**
 * Throw it to fail the request with an HTTP error (400..599) the caller
 * can act on: the gateway answers {"error":{"code","message","chain"}} with
 * this status, code (default: named after the status, e.g. "notFound") and
 * message. The runtime checks status and code when it answers; out of
 * bounds, the request fails with a 500 functionError saying why.
 */
export class HttpError extends Error {
  readonly [HTTP_ERROR] = true;
  readonly code: string;

  constructor(
    readonly status: number,
    message: string,
    opts: { code?: string } = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.code = opts.code ?? '';
  }
}

export function isHttpError(v: unknown): v is HttpError {
  return typeof v === 'object' && v !== null && (v as { [HTTP_ERROR]?: unknown })[HTTP_ERROR] === true;
}

/** Thrown by ctx.goto for a stage not in the `next` list. */
export class UnknownStageError extends Error {
  constructor(stage: string, allowed: readonly string[]) {
    super(`goto("${stage}"): not one of this stage's next stages [${allowed.join(', ')}]`);
    this.name = 'UnknownStageError';
  }
}
