/**
 * What a `runtime: node` handler's call means, apart from where its bytes
 * live: the context it sees, the bytes its result stands for, whether its
 * answer or HttpError may be sent, and what a failure tells the caller.
 * The instance loop (instance-loop.ts) applies it over the shared pool;
 * the chain suites' baselines (bench/chains/host/) over plain buffers, so
 * a handler behaves the same in both.
 */
import { ANSWER_STATUS, contentTypeProblem, ERROR_STATUS, errorCodeProblem, statusProblem } from '../dataplane/response.js';
import { FerryResponse, UnknownStageError, type FerryContext, type HandlerResult, type HttpError } from './sdk.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export interface ContextParts {
  payload: Uint8Array;
  requestId: bigint;
  stage: string;
  next: readonly string[];
  alloc(size: number): Uint8Array;
  /** ctx.goto chose next[index]. */
  choose(index: number): void;
}

export function createContext(p: ContextParts): FerryContext {
  return {
    payload: p.payload,
    requestId: p.requestId,
    stage: p.stage,
    nextStages: p.next,
    alloc: p.alloc,
    goto(stage: string) {
      const i = p.next.indexOf(stage);
      if (i < 0) throw new UnknownStageError(stage, p.next);
      p.choose(i);
    },
    respond(status: number, body?: HandlerResult, contentType?: string) {
      return new FerryResponse(status, body, contentType);
    },
    text() {
      return decoder.decode(this.payload);
    },
    json<T>() {
      return JSON.parse(decoder.decode(this.payload)) as T;
    },
  };
}

/** The bytes a result (or an answer's body) stands for. */
export function toBytes(result: HandlerResult): Uint8Array {
  if (result === null || result === undefined) return new Uint8Array(0);
  if (result instanceof Uint8Array) return result;
  if (typeof result === 'string') return encoder.encode(result);
  return encoder.encode(JSON.stringify(result));
}

/** Throws unless the answer may be sent: checked again here, as a
 * response object may not come from ctx.respond. */
export function checkAnswer(answer: FerryResponse): void {
  const problem = statusProblem(answer.status, ANSWER_STATUS) ?? contentTypeProblem(answer.contentType ?? '');
  if (problem) throw new TypeError(`ctx.respond: ${problem}`);
}

/** Why the HttpError cannot be answered as it is (undefined: it can), as
 * the error that then fails the request. */
export function httpErrorProblem(err: HttpError): TypeError | undefined {
  const problem = statusProblem(err.status, ERROR_STATUS) ?? errorCodeProblem(err.code ?? '');
  return problem ? new TypeError(`HttpError: ${problem} (message: ${String(err.message)})`) : undefined;
}

export type FailureStatus = 'functionError' | 'poolExhausted' | 'tooLarge';

/** A failure that is not an HttpError: the status it fails the request
 * with (a pool's own refusals keep theirs) and the caller's message. */
export function failureOf(err: unknown, stage: string): { status: FailureStatus; message: string } {
  const code = (err as { code?: string } | null)?.code;
  const status = code === 'EPOOL_EXHAUSTED' ? 'poolExhausted' : code === 'ETOO_LARGE' ? 'tooLarge' : 'functionError';
  return { status, message: `${stage}: ${err instanceof Error ? err.message : String(err)}` };
}
