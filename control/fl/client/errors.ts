/**
 * What a client sees when the server refuses: ferry's error code (DESIGN.md
 * "Client API"), the HTTP status it comes with, and how long to wait when
 * the server said (Retry-After), whichever door (HTTP or gRPC) it came by.
 */
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { FL_ERROR_CODE_METADATA } from '../proto.js';

/** The codes of DESIGN.md, and the HTTP status each is answered with. */
export const FL_ERROR_STATUS = {
  unknownJob: 404,
  roundNotOpen: 409,
  roundNotReady: 409,
  roundGone: 410,
  roundClosed: 409,
  tooStale: 409,
  jobDone: 409,
  duplicateUpdate: 409,
  badHeader: 400,
  badDtype: 400,
  badTensorSize: 400,
  tooLarge: 413,
  nonFiniteUpdate: 422,
  busy: 503,
} as const;
export type FlErrorCode = keyof typeof FL_ERROR_STATUS;
/** What the client itself reports: no answer at all, or an answer that is
 * not a model. */
export type FlClientErrorCode = 'transport' | 'badModel';

export class FlError extends Error {
  constructor(
    /** One of FlErrorCode, or another server code (e.g. a gateway's
     * requestTimeout) or 'transport' when no answer came at all. */
    readonly code: FlErrorCode | FlClientErrorCode | (string & {}),
    message: string,
    /** HTTP status (for gRPC: the status DESIGN.md gives the code; 0 if none). */
    readonly status: number,
    readonly job?: string,
    /** The server's Retry-After, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'FlError';
  }

  /** Worth sending again as is after retryAfterMs (the server had no room). */
  get retryable(): boolean {
    return this.code === 'busy' || this.code === 'roundNotReady';
  }
}

export const isFlError = (err: unknown, code?: FlErrorCode | FlClientErrorCode): err is FlError => err instanceof FlError && (code === undefined || err.code === code);

const statusOfCode = (code: string): number => (FL_ERROR_STATUS as Record<string, number>)[code] ?? 0;

/** An HTTP error answer: ferry's JSON error, or just the status when the
 * body is not one (a proxy's page). */
export function fromHttp(res: { status: number; text: string; retryAfter?: string }, job: string): FlError {
  let code = `http${res.status}`;
  let message = `HTTP ${res.status}${res.text ? `: ${res.text.slice(0, 200)}` : ''}`;
  let errJob = job;
  try {
    const body = JSON.parse(res.text) as { error?: { code?: unknown; message?: unknown; job?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
    if (typeof body.error?.job === 'string') errJob = body.error.job;
  } catch {
    // not JSON: keep the status line
  }
  const after = Number(res.retryAfter);
  return new FlError(code, message, res.status, errJob, Number.isFinite(after) && after > 0 ? after * 1000 : undefined);
}

/** A gRPC failure: the code from trailing metadata, else a guess from the
 * gRPC status that still lets callers tell "no such job" from the rest. */
export function fromGrpc(err: ServiceError, job: string): FlError {
  const meta = err.metadata?.get(FL_ERROR_CODE_METADATA)[0];
  let code = typeof meta === 'string' ? meta : Buffer.isBuffer(meta) ? meta.toString() : '';
  if (!code) {
    code = err.code === GrpcStatus.NOT_FOUND ? 'unknownJob'
      : err.code === GrpcStatus.RESOURCE_EXHAUSTED ? 'busy'
      : err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.DEADLINE_EXCEEDED ? 'transport'
      : `grpc${GrpcStatus[err.code] ?? err.code}`;
  }
  const retry = err.metadata?.get('retry-after')[0];
  const retryMs = retry !== undefined && Number(retry) > 0 ? Number(retry) * 1000 : undefined;
  return new FlError(code, err.details || err.message, statusOfCode(code), job, retryMs);
}
