/**
 * Cuts a peer link's byte stream into frames, landing each payload where
 * its frame will live: a request's or reply's payload straight in a buffer
 * of the receiving node's pool, reserved as soon as the header says how
 * long the payload is (a Lander decides where), not in a buffer of its own
 * that is copied later.
 *
 * Two ways in:
 *  - in place (plain TCP links): the socket reads into readBuffer() — the
 *    rest of the header, then the rest of the current payload's region —
 *    and reports with onRead(n). A read never crosses a frame boundary, so
 *    no byte is ever moved in user space (copiedBytes stays 0);
 *  - push(chunk) (TLS links, whose plaintext Node hands over in buffers of
 *    its own): each chunk is copied once into where it belongs, and that
 *    copy is counted in copiedBytes.
 *
 * A header that breaks the wire rules throws FrameError (the stream cannot
 * be trusted to be in step any more): the caller closes the connection and
 * calls abandon(), which gives back a payload region half filled.
 */
import { decodeHeader, HEADER_SIZE, type Frame, type FrameHeader } from './frame.js';

/** Where one frame's payload lands. */
export interface Landing {
  /** Exactly header.length bytes to fill. */
  readonly into: Uint8Array;
  /** Every byte arrived: the frame is the Lander's now. */
  landed(): void;
  /** The stream ended before they did: give the region back. */
  abandon(): void;
}

export interface ReceiverEvents {
  /** A request's or reply's header arrived (checked): where its payload
   * lands, or undefined to have it collected into a Buffer of its own and
   * handed to frame() (no lander, or one that cannot take it). */
  land(h: FrameHeader): Landing | undefined;
  /** A frame collected whole (hello, load report, or one not landed). */
  frame(f: Frame): void;
}

interface Current {
  header: FrameHeader;
  into: Uint8Array;
  have: number;
  landing?: Landing;
}

export class FrameReceiver {
  /** Payload bytes this receiver copied in user space (0 in place). */
  copiedBytes = 0;
  private readonly head = Buffer.allocUnsafe(HEADER_SIZE);
  private headHave = 0;
  private cur: Current | undefined;

  constructor(
    private readonly events: ReceiverEvents,
    private readonly maxPayload: number,
  ) {}

  /** Where the next read should land: never past the current header or
   * payload, never empty. */
  readBuffer(): Uint8Array {
    const c = this.cur;
    return c ? c.into.subarray(c.have) : this.head.subarray(this.headHave);
  }

  /** n bytes were read into the last readBuffer(). */
  onRead(n: number): void {
    const c = this.cur;
    if (c) {
      c.have += n;
      if (c.have === c.into.byteLength) this.finish(c);
      return;
    }
    this.headHave += n;
    if (this.headHave === HEADER_SIZE) this.startFrame();
  }

  /** A chunk from a stream that chose its own buffers: copied into place. */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.byteLength) {
      const dst = this.readBuffer();
      const n = Math.min(dst.byteLength, chunk.byteLength - at);
      dst.set(chunk.subarray(at, at + n));
      if (this.cur) this.copiedBytes += n;
      at += n;
      this.onRead(n);
    }
  }

  /** Bytes of a frame begun but not finished. */
  get pending(): number {
    return this.cur ? HEADER_SIZE + this.cur.have : this.headHave;
  }

  /** The stream is gone: give back what the current frame holds. */
  abandon(): void {
    const c = this.cur;
    this.cur = undefined;
    this.headHave = 0;
    c?.landing?.abandon();
  }

  private startFrame(): void {
    const header = decodeHeader(this.head, this.maxPayload);
    this.headHave = 0;
    const landing = header.length > 0 ? this.events.land(header) : undefined;
    if (landing && landing.into.byteLength !== header.length) {
      landing.abandon();
      throw new Error(`a landing of ${landing.into.byteLength} bytes for a payload of ${header.length}`);
    }
    const c: Current = { header, into: landing?.into ?? Buffer.allocUnsafe(header.length), have: 0, landing };
    if (header.length === 0) return this.finish(c);
    this.cur = c;
  }

  private finish(c: Current): void {
    this.cur = undefined;
    if (c.landing) c.landing.landed();
    else this.events.frame({ header: c.header, payload: Buffer.from(c.into.buffer, c.into.byteOffset, c.into.byteLength) });
  }
}
