/**
 * An update on its way into the pool, whichever door it came through: the
 * bytes are copied once, from the socket's chunks into the job's pool
 * buffer, and the 64-byte header is checked the moment it is in, so a bad
 * update is refused without waiting for (or keeping) the rest.
 */
import type { Readable } from 'node:stream';
import { HEADER_SIZE } from '../../fl/wire.js';
import { BodyAbortedError, BodyOverflowError, BodyTimeoutError, streamInto } from '../../gateway/body-stream.js';
import { GRACE_MS, type BodyWriter, type Reply, type RequestOptions } from '../../gateway/injector.js';
import { native } from '../../dataplane/native.js';
import { DisconnectedError, type JobCoordinator, type Reservation, type UploadResult } from './coordinator.js';
import { badTensorSize, JobError } from './errors.js';

/** A BodyWriter that stops taking bytes as soon as the header is refused. */
export class CheckedWriter implements BodyWriter {
  reservation: Reservation | undefined;
  refused: unknown;

  constructor(
    private readonly inner: BodyWriter,
    private readonly job: JobCoordinator,
    private readonly urlRound: number,
  ) {}

  get limit(): number {
    return this.inner.limit;
  }

  get length(): number {
    return this.inner.length;
  }

  write(chunk: Uint8Array): boolean {
    if (this.refused !== undefined || !this.inner.write(chunk)) return false;
    this.job.bytesCopied += chunk.byteLength;
    if (!this.reservation && this.inner.length >= HEADER_SIZE) {
      try {
        this.reservation = this.job.reserve(this.inner.bytes().subarray(0, HEADER_SIZE), this.urlRound);
      } catch (err) {
        this.refused = err;
        return false;
      }
    }
    return true;
  }

  bytes(): Uint8Array {
    return this.inner.bytes();
  }

  send(stage: number, opts?: RequestOptions): Promise<Reply> {
    return this.inner.send(stage, opts);
  }

  /** Frees the buffer and the client's place in its round. */
  abort(): void {
    this.inner.abort();
    this.reservation?.cancel();
    this.reservation = undefined;
    this.job.wake();
  }

  holdUntil(deadlineMs: number): void {
    this.inner.holdUntil(deadlineMs);
  }

  /** The body is complete: it must be exactly one update; then it goes to a leaf. */
  submit(): Promise<UploadResult> {
    const want = this.job.updateBytes;
    if (this.inner.length !== want || !this.reservation) {
      this.abort();
      return Promise.reject(badTensorSize(this.job.spec.name, `the body is ${this.inner.length} bytes; an update of this job is exactly ${want} (64-byte header + 4 x param_count)`));
    }
    return this.job.submit(this.inner, this.reservation);
  }
}

export interface StreamLimits {
  bodyTimeoutMs: number;
  minBytesPerSec?: number;
}

/**
 * An HTTP body into the pool and on to a leaf. Throws a JobError to
 * answer, DisconnectedError when the client left, or BodyTimeoutError.
 * The result is counted either way.
 */
export async function uploadFromStream(job: JobCoordinator, urlRound: number, stream: Readable | undefined, declared: number | undefined, limits: StreamLimits, signal: AbortSignal): Promise<UploadResult> {
  try {
    const result = await upload(job, urlRound, stream, declared, limits, signal);
    return result;
  } catch (err) {
    job.count(err instanceof JobError ? err.code : err instanceof DisconnectedError ? 'disconnected' : err instanceof BodyTimeoutError ? 'bodyTimeout' : 'internal');
    throw err;
  }
}

async function upload(job: JobCoordinator, urlRound: number, stream: Readable | undefined, declared: number | undefined, limits: StreamLimits, signal: AbortSignal): Promise<UploadResult> {
  const want = job.updateBytes;
  const name = job.spec.name;
  // Refused on what the client declared, before a byte is read.
  if (declared !== undefined && declared > want)
    throw new JobError(413, 'tooLarge', `the body is declared as ${declared} bytes; an update of this job is exactly ${want} (64-byte header + 4 x param_count)`, name, { connection: 'close' });
  if (declared !== undefined && declared < want)
    throw new JobError(400, 'badTensorSize', `the body is declared as ${declared} bytes; an update of this job is exactly ${want} (64-byte header + 4 x param_count)`, name, { connection: 'close' });
  if (!stream) throw badTensorSize(name, `the request has no body; an update of this job is exactly ${want} bytes`);
  job.precheck(urlRound);
  // Nothing is read until a buffer is ours: the client waits in TCP.
  const started = Date.now();
  const writer = new CheckedWriter(await job.acquireBody(limits.bodyTimeoutMs, signal), job, urlRound);
  const left = Math.max(1, limits.bodyTimeoutMs - (Date.now() - started));
  writer.holdUntil((native.nowMs() + left + GRACE_MS) >>> 0 || 1);
  try {
    await streamInto(stream, writer, { timeoutMs: left, minBytesPerSec: limits.minBytesPerSec });
  } catch (err) {
    writer.abort();
    if (err instanceof BodyOverflowError) throw writer.refused ?? badTensorSize(name, `the body is longer than ${want} bytes, one update of this job`);
    if (err instanceof BodyAbortedError) throw new DisconnectedError();
    throw err;
  }
  return writer.submit();
}
