/**
 * What the client gets for a chain's reply:
 *   - the last stage's output: 200, content type inferred (content-type.ts);
 *   - a function's own answer (FLAG_RESPONSE): its status, content type and
 *     body, or (with FLAG_ERROR) its HTTP error in ferry's JSON shape;
 *   - a failure the data plane reported: the GatewayError for it.
 * A function's answer arrives from any runtime, or forged: every part is
 * checked, and one HTTP cannot carry is a 500 functionError that says why.
 */
import { FLAG_ERROR, FLAG_RESPONSE } from '../dataplane/descriptor.js';
import {
  ANSWER_STATUS,
  BODYLESS_STATUS,
  contentTypeProblem,
  ERROR_STATUS,
  errorCodeProblem,
  readTrailer,
  statusProblem,
} from '../dataplane/response.js';
import { replyContentType } from './content-type.js';
import { codeOfStatus, GatewayError, replyError } from './errors.js';
import type { Reply } from './injector.js';

export interface Answer {
  status: number;
  /** undefined: none (a body-less status). */
  contentType?: string;
  body: Uint8Array;
}

const decoder = new TextDecoder();

/** Throws the GatewayError the reply stands for. */
export function answerOf(reply: Reply, chain: string): Answer {
  if ((reply.flags & FLAG_RESPONSE) === 0) {
    const failed = replyError(reply, chain);
    if (failed) throw failed;
    return { status: 200, contentType: replyContentType(reply.body), body: reply.body };
  }
  const bad = (problem: string) =>
    new GatewayError(500, 'functionError', `stage ${reply.fromStage} answered with a response HTTP cannot carry: ${problem}`, chain);
  const t = readTrailer(reply.body);
  if ('problem' in t) throw bad(t.problem);
  const status = reply.statusCode;
  if ((reply.flags & FLAG_ERROR) !== 0) {
    const problem = statusProblem(status, ERROR_STATUS) ?? errorCodeProblem(t.tag);
    if (problem) throw bad(problem);
    throw new GatewayError(status, t.tag || codeOfStatus(status), decoder.decode(t.body), chain);
  }
  const problem = statusProblem(status, ANSWER_STATUS) ?? contentTypeProblem(t.tag);
  if (problem) throw bad(problem);
  if (BODYLESS_STATUS.has(status)) {
    if (t.body.byteLength > 0) throw bad(`status ${status} has no body, but the function gave ${t.body.byteLength} bytes`);
    return { status, body: t.body };
  }
  return { status, contentType: t.tag || replyContentType(t.body), body: t.body };
}
