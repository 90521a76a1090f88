/**
 * What a baseline's client gets, rendered by ferry's own gateway code so
 * the baselines answer byte for byte what ferry would: a stage's reply (or
 * its own answer, or its failure) becomes a gateway Reply, and answerOf /
 * GatewayError turn it into status, content type and body.
 */
import { FLAG_ERROR, FLAG_RESPONSE } from '../../../control/dataplane/descriptor.js';
import { trailerSize, writeTrailer } from '../../../control/dataplane/response.js';
import { answerOf } from '../../../control/gateway/answer.js';
import { bodyTooLarge, frameworkError, GatewayError, injectError, methodNotAllowed, unknownChain } from '../../../control/gateway/errors.js';
import { RequestInterruptedError, RequestTimeoutError, type Reply } from '../../../control/gateway/injector.js';

/** An HTTP answer: what every hop relays back to its caller unchanged. */
export interface HttpAnswer {
  status: number;
  /** undefined: none (a body-less status). */
  contentType?: string;
  body: Uint8Array;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const encoder = new TextEncoder();

/** ferry's error shape, as its gateway sends it (edges.ts sendError). */
export function errorAnswer(err: GatewayError): HttpAnswer {
  return { status: err.statusCode, contentType: JSON_TYPE, body: encoder.encode(JSON.stringify(err.toJSON())) };
}

export interface StageReply {
  /** 'ok' or the failure's status (functionError, poolExhausted, tooLarge). */
  status: string;
  /** FLAG_RESPONSE (and FLAG_ERROR) for a function's own answer. */
  flags: number;
  /** Its HTTP status (with FLAG_RESPONSE). */
  statusCode: number;
  /** The output, or the error message; with FLAG_RESPONSE ending in the
   * content type's (or error code's) trailer. */
  body: Uint8Array;
  fromStage: number;
}

/** What the client gets for a stage's reply. */
export function render(r: StageReply, chain: string): HttpAnswer {
  const reply: Reply = {
    requestId: 0n,
    status: r.status,
    error: r.status !== 'ok',
    flags: r.flags,
    statusCode: r.statusCode,
    body: r.body,
    release: () => undefined, // a heap copy: nothing lent
    holdUntil: () => undefined,
    hopCount: 0,
    fromStage: r.fromStage,
    offset: 0,
    generation: 0,
    sent: { offset: 0, generation: 0 },
  };
  try {
    return answerOf(reply, chain);
  } catch (err) {
    if (err instanceof GatewayError) return errorAnswer(err);
    throw err;
  }
}

/** body followed by tag's trailer (dataplane/response.ts). */
export function withTrailer(body: Uint8Array, tag: string): Uint8Array {
  const t = encoder.encode(tag);
  const out = new Uint8Array(body.byteLength + trailerSize(t));
  out.set(body, 0);
  writeTrailer(out, body.byteLength, t);
  return out;
}

export const answerFlags = (error: boolean) => FLAG_RESPONSE | (error ? FLAG_ERROR : 0);

/** The baselines' own failures: ferry's gateway errors for the same
 * events (control/gateway/errors.ts), made by its own constructors. */
export const failures = {
  bodyTooLarge: (chain: string, limit: number) => errorAnswer(bodyTooLarge(chain, limit)),
  timeout: (chain: string, timeoutMs: number, entryStage: number) =>
    errorAnswer(injectError(new RequestTimeoutError(entryStage, timeoutMs), chain, 0)),
  instanceDied: (chain: string, detail: string) => errorAnswer(injectError(new RequestInterruptedError(detail), chain, 0)),
  unknownChain: (chain: string) => errorAnswer(unknownChain(chain)),
  methodNotAllowed: (method: string, path: string) => errorAnswer(methodNotAllowed(method, path, ['POST'])),
  badUrl: (url: string) => errorAnswer(frameworkError({ code: 'FST_ERR_BAD_URL', message: `bad request target ${JSON.stringify(url.slice(0, 80))}` })),
  bodyAborted: (chain: string) => errorAnswer(new GatewayError(400, 'bodyAborted', 'the request body broke off: send the whole body', chain)),
};
