/**
 * What a `runtime: node` handler's call means, apart from where its bytes
 * live: the context it sees, the bytes its result stands for, whether its
 * answer or HttpError may be sent, and what a failure tells the caller.
 * The instance loop (instance-loop.ts) applies it over the shared pool;
 * the chain suites' baselines (bench/chains/host/) over plain buffers, so
 * a handler behaves the same in both.
 */
import { ANSWER_STATUS, contentTypeProblem, ERROR_STATUS, errorCodeProblem, statusProblem } from '../dataplane/response.js';
import { annotateInto, readMember } from './json-body.js';
import { FerryResponse, UnknownStageError, type FerryContext, type HandlerResult, type HttpError } from './sdk.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export interface ContextParts {
  payload: Uint8Array;
  requestId: bigint;
  stage: string;
  next: readonly string[];
  alloc(size: number): Uint8Array;
  /** Where the payload may grow in place (its whole buffer, from the
   * payload's start), for ctx.annotate. */
  room(): Uint8Array;
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
    field<T>(name: string) {
      return readMember<T>(this.payload, name);
    },
    annotate(fields: Record<string, unknown>) {
      const inPlace = annotateInto(this.payload, fields, p.room());
      if (inPlace) return inPlace;
      // Bigger than the input's buffer: the members' JSON bounds what is added.
      const out = this.alloc(this.payload.byteLength + Buffer.byteLength(JSON.stringify(fields)) + 1);
      return annotateInto(this.payload, fields, out)!;
    },
  };
}

/** What a non-bytes result sends: a string as is, anything else as JSON
 * (null and undefined, and what JSON.stringify drops: nothing). The
 * instance loop encodes it straight into the pool. */
export function textOf(result: Exclude<HandlerResult, Uint8Array>): string {
  if (result === null || result === undefined) return '';
  if (typeof result === 'string') return result;
  return JSON.stringify(result) ?? '';
}

/** The bytes a result (or an answer's body) stands for. */
export function toBytes(result: HandlerResult): Uint8Array {
  return result instanceof Uint8Array ? result : encoder.encode(textOf(result));
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
