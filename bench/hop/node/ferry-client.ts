/**
 * The ferry side of the Node pinger, on a gateway endpoint: in the pinger
 * process, the native.Instance of the FERRY_* environment the data plane set
 * at spawn; in the orchestrator, a gateway it opened to check an echo.
 *
 * The payload is written once into one pool buffer; every round trip sends
 * the same (offset, generation) to the echo stage, which hands the buffer
 * back in place. Only the 48-byte descriptor moves. Each round trip also
 * runs the stamp protocol of functions/stamp-echo.c: our request id in the
 * first 4 bytes, the echo's complement of it in the last 4 on the reply.
 */
import { FLAG_ERROR } from '../../../control/dataplane/descriptor.js';
import { native, type BufferRef, type NativeInstance, type SendRequest } from '../../../control/dataplane/native.js';
import { checkSpan, fill } from './driver.js';
import type { PingClient } from './client.js';

const F = native.layout.fields;
const STAMP_MIN = 8;

/** A ping client whose target stage can change between cases. */
export interface FerryPingClient extends PingClient {
  stage: number;
}

export function ferryClient(inst: NativeInstance, firstStage: number): FerryPingClient {
  const pool = new Uint8Array(inst.buffer);
  const poolView = new DataView(inst.buffer);
  const rx = new DataView(inst.rx);
  let buf: BufferRef | undefined;
  let req: SendRequest = { stage: firstStage, offset: 0, generation: 0, length: 0, requestId: 0 };
  let failure = '';
  let pending: ((ok: boolean) => void) | undefined;

  const bad = (why: string) => {
    failure ||= why;
    return false;
  };

  // The addon has already accepted the reply (ownership of the buffer is
  // back with us); check it is ours, stamped by the echo, and answer.
  const checkReply = (n: number): boolean => {
    if (n !== 1) return bad(`expected one reply, got ${n}`);
    if ((rx.getUint16(F.flags, true) & FLAG_ERROR) !== 0) return bad(`request ${req.requestId} came back as an error`);
    if (rx.getUint32(F.requestId, true) !== req.requestId || rx.getUint32(F.length, true) !== req.length)
      return bad(`reply does not match request ${req.requestId}`);
    const offset = rx.getUint32(F.offset, true) + rx.getUint32(F.offset + 4, true) * 2 ** 32;
    if (offset !== req.offset || rx.getUint32(F.generation, true) !== req.generation)
      return bad('the reply named another buffer: not zero copy');
    if (poolView.getUint32(req.offset + req.length - 4, true) !== ~req.requestId >>> 0)
      return bad(`request ${req.requestId}: the echo's stamp is not in our buffer`);
    return true;
  };

  inst.start((n) => {
    const done = pending;
    pending = undefined;
    done?.(checkReply(n));
  });

  return {
    stage: firstStage,
    begin(size) {
      if (size < STAMP_MIN) throw new Error(`ferry cases need at least ${STAMP_MIN} bytes (the echo's stamps)`);
      buf = inst.alloc(size);
      fill(pool.subarray(buf.offset, buf.offset + size)); // the only write of the payload
      req = { stage: this.stage, offset: buf.offset, generation: buf.generation, length: size, requestId: 0 };
      failure = '';
      return (done) => {
        req.requestId = (req.requestId + 1) >>> 0;
        poolView.setUint32(req.offset, req.requestId, true);
        pending = done;
        if (inst.send(req) !== 0) {
          pending = undefined;
          done(bad('send refused'));
        }
      };
    },
    end() {
      const b = buf!;
      // Between the stamps, the payload must be exactly what we wrote.
      const verified = !failure && checkSpan(pool.subarray(b.offset, b.offset + req.length), 4, req.length - 4);
      inst.free(b.offset, b.generation);
      buf = undefined;
      return { verified, note: failure || 'same pool buffer every round trip; echo stamp checked each time' };
    },
    close() {
      inst.stop();
      inst.close();
    },
  };
}
