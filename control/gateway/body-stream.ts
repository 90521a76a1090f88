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
 * dropped, so the connection stays usable for the next request), or with
 * BodyAbortedError when the client hangs up.
 */
export function streamInto(stream: Readable, writer: BodyWriter): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
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
  });
}
