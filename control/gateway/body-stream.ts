/**
 * Moves an HTTP request body from the socket into a pool buffer chunk by
 * chunk: the body is never gathered in the heap, and the one copy is the
 * one into shared memory.
 */
import type { Readable } from 'node:stream';
import type { BodyWriter } from './injector.js';

/** The body went past the writer's limit; the rest was discarded. */
export class BodyOverflowError extends Error {
  constructor(readonly received: number) {
    super(`request body reached ${received} bytes, past its limit`);
    this.name = 'BodyOverflowError';
  }
}

/** The body did not arrive in time, or arrived too slowly. */
export class BodyTimeoutError extends Error {
  constructor(
    readonly received: number,
    why: string,
  ) {
    super(why);
    this.name = 'BodyTimeoutError';
  }
}

/** How fast a body must arrive: all of it within timeoutMs, and after the
 * first graceMs at least minBytesPerSec on average (a client trickling a
 * byte at a time is cut long before the timeout). */
export interface BodyPace {
  timeoutMs: number;
  minBytesPerSec?: number;
  graceMs?: number;
}

export const DEFAULT_MIN_BYTES_PER_SEC = 1024;
export const DEFAULT_PACE_GRACE_MS = 2000;

/** The client went away before the body was complete. */
export class BodyAbortedError extends Error {
  constructor(cause?: Error) {
    super(`client aborted the request body${cause ? `: ${cause.message}` : ''}`);
    this.name = 'BodyAbortedError';
  }
}

/**
 * Resolves when the whole body is in writer; rejects with BodyOverflowError
 * as soon as a chunk does not fit (the rest of the body is then read and
 * dropped, so the connection stays usable for the next request), with
 * BodyTimeoutError when it does not keep the pace (the rest is not read:
 * the caller closes the connection), or with BodyAbortedError when the
 * client hangs up.
 */
export function streamInto(stream: Readable, writer: BodyWriter, pace?: BodyPace): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const done = (err?: Error) => {
      if (timer) clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk: Buffer) => {
      if (writer.write(chunk)) return;
      done(new BodyOverflowError(writer.length + chunk.byteLength));
      // Drain without keeping anything: keep-alive needs the body consumed;
      // a listener swallows a late reset instead of it going unhandled.
      stream.on('error', () => undefined);
      stream.resume();
    };
    const onEnd = () => done();
    const onError = (err: Error) => done(new BodyAbortedError(err));
    const onClose = () => done(new BodyAbortedError());
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    if (!pace) return;
    const minRate = pace.minBytesPerSec ?? DEFAULT_MIN_BYTES_PER_SEC;
    const grace = Math.min(pace.graceMs ?? DEFAULT_PACE_GRACE_MS, pace.timeoutMs);
    // Check the pace once a second after the grace period, and stop at the timeout.
    const check = () => {
      const elapsed = Date.now() - started;
      if (elapsed >= pace.timeoutMs) {
        stream.pause();
        return done(new BodyTimeoutError(writer.length, `the request body did not arrive within ${pace.timeoutMs} ms (${writer.length} bytes came)`));
      }
      if (minRate > 0 && writer.length < (minRate * elapsed) / 1000) {
        stream.pause();
        return done(
          new BodyTimeoutError(writer.length, `the request body arrived too slowly: ${writer.length} bytes in ${elapsed} ms, less than ${minRate} bytes a second`),
        );
      }
      timer = setTimeout(check, Math.min(1000, pace.timeoutMs - elapsed));
    };
    timer = setTimeout(check, grace);
  });
}
