/**
 * What a baseline's client gets, rendered by ferry's own gateway code so
 * the baselines answer byte for byte what ferry would: a stage's reply (or
 * its own answer, or its failure) becomes a gateway Reply, and answerOf /
 * GatewayError turn it into status, content type and body.
 */
import { FLAG_ERROR, FLAG_RESPONSE } from '../../../control/dataplane/descriptor.js';
import { trailerSize, writeTrailer } from '../../../control/dataplane/response.js';
import { answerOf } from '../../../control/gateway/answer.js';
import { GatewayError } from '../../../control/gateway/errors.js';
import type { Reply } from '../../../control/gateway/injector.js';

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

/** The baselines' own failures, in ferry's words for the same events. */
export const failures = {
  bodyTooLarge: (chain: string, limit: number) =>
    errorAnswer(new GatewayError(413, 'bodyTooLarge', `request body exceeds the chain's limit of ${limit} bytes`, chain)),
  timeout: (chain: string, timeoutMs: number) =>
    errorAnswer(new GatewayError(504, 'timeout', `no reply from the chain within ${timeoutMs} ms`, chain)),
  instanceDied: (chain: string, detail: string) =>
    errorAnswer(new GatewayError(502, 'instanceDied', `an instance serving the request died: ${detail}`, chain)),
  unknownChain: (chain: string) =>
    errorAnswer(new GatewayError(404, 'unknownChain', `no chain "${chain}" is served here: check the name in the URL (/chains/NAME)`, chain)),
  methodNotAllowed: (method: string) =>
    errorAnswer(new GatewayError(405, 'methodNotAllowed', `${method} is not allowed: POST the request body to /chains/NAME`)),
  badUrl: (url: string) =>
    errorAnswer(new GatewayError(400, 'badUrl', `bad request target ${JSON.stringify(url.slice(0, 80))}: percent-encode the chain name correctly`)),
  bodyAborted: (chain: string) => errorAnswer(new GatewayError(400, 'bodyAborted', 'the request body broke off: send the whole body', chain)),
};
