/**
 * A chain's reply on its way to the HTTP client, written straight from its
 * pool buffer (no copy, no per-request heap buffer for the body).
 *
 * The buffer is lent to the gateway until the write is done: Node hands
 * libuv a pointer into shared memory, and the kernel may take the bytes
 * long after send() returned when the client reads slowly. So the buffer
 * goes back to the pool only when the response finished (every byte is in
 * the kernel) or its connection closed (libuv writes nothing more), never
 * before. A client that has not read its reply within replyTimeoutMs loses
 * its connection: the buffer's deadline is moved to just past that, so
 * ferryd's keeper, which reclaims buffers past their deadline and could
 * hand the memory to another request, never does so under a pending write.
 * If the chain's pool goes away first (the injector closes), the
 * connection is destroyed at once for the same reason.
 */
import type { ServerResponse } from 'node:http';
import { native } from '../dataplane/native.js';
import { GRACE_MS, type Reply } from './injector.js';

/** What ReplyOut writes from: a chain's borrowed reply, or any pool
 * buffer lent the same way (a job's sealed model, read by many clients). */
export type LentBody = Pick<Reply, 'body' | 'release' | 'holdUntil'>;

export class ReplyOut {
  private reply: LentBody | undefined;
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  /** What the injector calls when the pool goes away under the write. */
  readonly borrower = { onRevoke: () => this.cut() };

  constructor(
    private readonly res: ServerResponse,
    private readonly replyTimeoutMs: number,
    private readonly onSlowClient: (fields: { replyTimeoutMs: number; bytesOut: number }) => void,
  ) {}

  /** The reply is about to be written from its buffer: keep the buffer
   * until the response is done, at most replyTimeoutMs. False (and the
   * buffer given back) when there is nobody to write to any more. */
  writing(reply: LentBody): boolean {
    this.reply = reply;
    if (this.done || this.res.destroyed) {
      this.done = false;
      this.release();
      return false;
    }
    reply.holdUntil((native.nowMs() + this.replyTimeoutMs + GRACE_MS) >>> 0 || 1);
    const finished = () => this.release();
    this.res.once('finish', finished);
    this.res.once('close', finished);
    this.timer = setTimeout(() => {
      this.onSlowClient({ replyTimeoutMs: this.replyTimeoutMs, bytesOut: reply.body.byteLength });
      this.cut();
    }, this.replyTimeoutMs);
    this.timer.unref();
    return true;
  }

  /** Stop writing from the buffer: destroying the socket closes its fd,
   * after which libuv reads no more from the memory. */
  private cut(): void {
    if (this.done) return;
    this.res.destroy();
    this.release();
  }

  private release(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.reply?.release();
  }
}
