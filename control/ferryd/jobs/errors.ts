/**
 * The errors of the job API (control/fl/DESIGN.md "Client API"): ferry's
 * JSON error naming the job, the same codes on HTTP and gRPC. Every one says
 * what to do about it.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { GatewayError } from '../../gateway/errors.js';

export class JobError extends GatewayError {
  constructor(statusCode: number, code: string, message: string, readonly job: string, headers: Record<string, string> = {}) {
    super(statusCode, code, message, undefined, headers);
    this.name = 'JobError';
  }

  override toJSON(): { error: { code: string; message: string; job?: string } } {
    return { error: { code: this.code, message: this.message, job: this.job } };
  }
}

/** A GatewayError (from the data plane) restated for a job. */
export function asJobError(err: GatewayError, job: string): JobError {
  return err instanceof JobError ? err : new JobError(err.statusCode, err.code, err.message, job, err.headers);
}

export const unknownJob = (job: string) =>
  new JobError(404, 'unknownJob', `no aggregation job "${job}" is served on this node: check the name (and tenant) in the URL`, job);
export const roundNotOpen = (job: string, r: number, open: number) =>
  new JobError(409, 'roundNotOpen', `round ${r} is not open yet (round ${open} is): fetch round ${open}'s model and train on it`, job);
export const roundNotReady = (job: string, r: number, retryAfterS: number) =>
  new JobError(409, 'roundNotReady', `round ${r}'s model is not sealed yet: retry later, or wait with ?waitMs=`, job, { 'retry-after': String(retryAfterS) });
export const roundGone = (job: string, r: number, latest: number) =>
  new JobError(410, 'roundGone', `round ${r}'s model is no longer kept (only the last 2 are): fetch round ${latest}`, job);
export const roundClosed = (job: string, r: number, open: number) =>
  new JobError(409, 'roundClosed', `round ${r} is closed (stragglers are dropped): fetch round ${open}'s model and train on it`, job);
export const tooStale = (job: string, r: number, target: number, max: number) =>
  new JobError(409, 'tooStale', `an update for round ${r} is ${target - r} rounds late, more than the ${max} this job merges: fetch round ${target}'s model`, job);
export const jobDone = (job: string, rounds: number) => new JobError(409, 'jobDone', `every one of the job's ${rounds} rounds is done: GET /jobs/${job}/model for the result`, job);
export const duplicateUpdate = (job: string, client: string, r: number) =>
  new JobError(409, 'duplicateUpdate', `client "${client}" already has an update in round ${r}: send one per round`, job);
export const badHeader = (job: string, why: string) => new JobError(400, 'badHeader', `the update's 64-byte header is wrong: ${why}`, job);
export const badDtype = (job: string, dtype: number) => new JobError(400, 'badDtype', `the update's dtype is ${dtype}; the only one is 1 (float32)`, job);
export const badTensorSize = (job: string, why: string) => new JobError(400, 'badTensorSize', why, job);
export const tooLarge = (job: string, declared: number, want: number) =>
  new JobError(413, 'tooLarge', `the body is declared as ${declared} bytes; an update of this job is exactly ${want} (64-byte header + 4 x param_count)`, job, {
    connection: 'close',
  });
export const homeUnreachable = (job: string, home: string, why: string) =>
  new JobError(503, 'homeUnreachable', `this node cannot count the update: the job's home node ${home} ${why}; retry shortly (or upload to another node of the job)`, job, {
    'retry-after': '1',
  });
export const busy = (job: string, waitedMs: number) =>
  new JobError(503, 'busy', `no pool buffer came free for the update within ${waitedMs} ms: retry shortly`, job, { 'retry-after': '1' });

/** "ferry-error-code" travels with these gRPC statuses (fl.proto). */
export function grpcStatusOf(code: string, httpStatus: number): GrpcStatus {
  switch (code) {
    case 'unknownJob':
    case 'unknownRound':
      return GrpcStatus.NOT_FOUND;
    case 'roundClosed':
    case 'roundNotOpen':
    case 'tooStale':
    case 'jobDone':
    case 'duplicateUpdate':
    case 'roundNotReady':
      return GrpcStatus.FAILED_PRECONDITION;
    case 'roundGone':
      return GrpcStatus.OUT_OF_RANGE;
    case 'badHeader':
    case 'badDtype':
    case 'badTensorSize':
    case 'nonFiniteUpdate':
    case 'tooLarge':
      return GrpcStatus.INVALID_ARGUMENT;
    case 'busy':
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 'homeUnreachable':
      return GrpcStatus.UNAVAILABLE;
    default:
      return httpStatus === 504 ? GrpcStatus.DEADLINE_EXCEEDED : httpStatus >= 500 ? GrpcStatus.UNAVAILABLE : GrpcStatus.INVALID_ARGUMENT;
  }
}
