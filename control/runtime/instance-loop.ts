/**
 * Drives a NativeInstance: for each accepted descriptor, runs the handler
 * on a zero-copy view and hands its result on. Separate from the process
 * entry point so tests can drive it in-process.
 */
import { FLAG_ERROR, FLAG_RESPONSE, frameView, Status } from '../dataplane/descriptor.js';
import { native, type BufferRef, type NativeInstance } from '../dataplane/native.js';
import { trailerSize, writeTrailer } from '../dataplane/response.js';
import { checkAnswer, createContext, failureOf, httpErrorProblem, textOf } from './outcome.js';
import { isFerryResponse, isHttpError, type FerryContext, type FerryHandler, type HandlerResult, type HttpError } from './sdk.js';

const F = native.layout.fields;
const encoder = new TextEncoder();

interface Call {
  frame: Uint8Array;
  offset: number;
  generation: number;
  nextIndex: number;
  allocs: BufferRef[];
  /** performance.now() when it was accepted: its service time starts there. */
  started: number;
}

export function runInstance(inst: NativeInstance, handler: FerryHandler): void {
  const pool = new Uint8Array(inst.buffer);

  const context = (call: Call, length: number, requestId: bigint): FerryContext =>
    createContext({
      payload: pool.subarray(call.offset, call.offset + length),
      requestId,
      stage: inst.stageName,
      next: inst.next,
      alloc(size: number) {
        const ref = inst.alloc(size, call.frame);
        call.allocs.push(ref);
        return pool.subarray(ref.offset, ref.offset + size);
      },
      room: () => pool.subarray(call.offset, call.offset + inst.capacity(call.offset, call.generation)),
      choose(index: number) {
        call.nextIndex = index;
      },
    });

  /** Frees the handler's buffers but keep (whose ownership moves on);
   * safe to call again. */
  const release = (call: Call, keep?: BufferRef) => {
    for (const a of call.allocs) {
      if (a === keep) continue;
      try {
        inst.free(a.offset, a.generation);
      } catch {
        // Already taken back: the request outlived its deadline and ferryd
        // freed what it held (the pool counts the late free).
      }
    }
    call.allocs = [];
  };

  /** Sends the output on, where it costs least: in place, in the
   * handler's own buffer, or copied once; with room for a response
   * trailer when there is one (tag). Copies before anything is freed: the
   * output may be a view of a buffer the call releases. */
  const send = (call: Call, result: HandlerResult, tag?: Uint8Array) => {
    const extra = tag ? trailerSize(tag) : 0;
    const seal = (offset: number, length: number) => (tag ? length + writeTrailer(pool, offset + length, tag) : length);
    if (result instanceof Uint8Array && result.buffer === inst.buffer) {
      if (result.byteOffset === call.offset && result.byteLength + extra <= inst.capacity(call.offset, call.generation)) {
        release(call);
        inst.forward(call.frame, seal(call.offset, result.byteLength), call.nextIndex);
        return;
      }
      const own = call.allocs.find((a) => a.offset === result.byteOffset);
      if (own && result.byteLength + extra <= own.capacity) {
        release(call, own);
        inst.forwardBuffer(call.frame, own.offset, own.generation, seal(own.offset, result.byteLength), call.nextIndex);
        return;
      }
    }
    if (!(result instanceof Uint8Array)) return sendText(call, textOf(result), extra, seal);
    const bytes = result;
    if (bytes.byteLength + extra <= inst.capacity(call.offset, call.generation)) {
      pool.set(bytes, call.offset); // set() copies overlapping views of one buffer correctly
      release(call);
      inst.forward(call.frame, seal(call.offset, bytes.byteLength), call.nextIndex);
      return;
    }
    const out = inst.alloc(bytes.byteLength + extra, call.frame); // throws EPOOL_EXHAUSTED / ETOO_LARGE
    pool.set(bytes, out.offset);
    release(call);
    inst.forwardBuffer(call.frame, out.offset, out.generation, seal(out.offset, bytes.byteLength), call.nextIndex);
  };

  /** A string (or an object's JSON) encoded straight into the pool: into
   * the input's buffer when it fits (the input is no longer needed: the
   * text was made from it already), else into a buffer of the exact size.
   * No intermediate bytes: one encode, where encode-then-copy made two. */
  const sendText = (call: Call, text: string, extra: number, seal: (offset: number, length: number) => number) => {
    const capacity = inst.capacity(call.offset, call.generation);
    if (text.length + extra <= capacity) {
      const { read, written } = encoder.encodeInto(text, pool.subarray(call.offset, call.offset + capacity - extra));
      if (read === text.length) {
        release(call);
        inst.forward(call.frame, seal(call.offset, written), call.nextIndex);
        return;
      }
    }
    // UTF-8 never takes fewer bytes than UTF-16 code units: what did not
    // fit there needs a buffer of its own.
    const size = Buffer.byteLength(text);
    const out = inst.alloc(size + extra, call.frame); // throws EPOOL_EXHAUSTED / ETOO_LARGE
    encoder.encodeInto(text, pool.subarray(out.offset, out.offset + size));
    release(call);
    inst.forwardBuffer(call.frame, out.offset, out.generation, seal(out.offset, size), call.nextIndex);
  };

  /** Marks the frame as the function's own answer (abi.h FERRY_F_RESPONSE):
   * the data plane sends it to the caller whatever the next stages. */
  const answering = (call: Call, status: number, error: boolean) => {
    const v = new DataView(call.frame.buffer, call.frame.byteOffset, call.frame.byteLength);
    v.setUint16(F.flags, (v.getUint16(F.flags, true) & ~FLAG_ERROR) | FLAG_RESPONSE | (error ? FLAG_ERROR : 0), true);
    v.setUint16(F.status, status, true);
  };

  const deliver = (call: Call, result: HandlerResult) => {
    if (!isFerryResponse(result)) return send(call, result);
    checkAnswer(result);
    answering(call, result.status, false);
    send(call, result.body, encoder.encode(result.contentType ?? ''));
  };

  const fail = (call: Call, err: unknown): void => {
    if (isHttpError(err)) return failHttp(call, err);
    release(call);
    const { status, message } = failureOf(err, inst.stageName);
    inst.fail(call.frame, Status[status], message);
  };

  /** The message, cut to fit the request's buffer with the code after it. */
  const failHttp = (call: Call, err: HttpError): void => {
    const problem = httpErrorProblem(err);
    if (problem) return fail(call, problem);
    release(call);
    const tag = encoder.encode(err.code ?? '');
    const message = encoder.encode(String(err.message));
    try {
      const room = inst.capacity(call.offset, call.generation) - trailerSize(tag);
      const length = Math.max(0, Math.min(message.byteLength, room));
      pool.set(message.subarray(0, length), call.offset);
      answering(call, err.status, true);
      inst.forward(call.frame, length + writeTrailer(pool, call.offset + length, tag), 0);
    } catch (e) {
      fail(call, e);
    }
  };

  inst.start((n) => {
    if (n < 0) {
      // ferryd closed our endpoint: we are being stopped.
      inst.close();
      process.exitCode = 0;
      return;
    }
    const view = new DataView(inst.rx);
    for (let i = 0; i < n; i++) {
      const base = i * native.layout.size;
      const call: Call = {
        frame: frameView(inst.rx, i),
        offset: Number(view.getBigUint64(base + F.offset, true)),
        generation: view.getUint32(base + F.generation, true),
        nextIndex: 0,
        allocs: [],
        started: performance.now(),
      };
      const length = view.getUint32(base + F.length, true);
      const requestId = view.getBigUint64(base + F.requestId, true);
      let result: HandlerResult | Promise<HandlerResult>;
      try {
        result = handler(context(call, length, requestId));
      } catch (err) {
        finish(call, () => fail(call, err));
        continue;
      }
      if (result instanceof Promise) {
        call.frame = call.frame.slice(); // rx is reused by the next batch
        result.then(
          (r) => finish(call, () => deliver(call, r)),
          (err: unknown) => finish(call, () => fail(call, err)),
        );
      } else finish(call, () => deliver(call, result));
    }
  });

  /** Hand the request on (or fail it), and count its service time: from
   * its acceptance to now, what ferryd reads as this stage's latency. */
  function finish(call: Call, handOn: () => void): void {
    try {
      handOn();
    } catch (err) {
      fail(call, err);
    }
    inst.recordService((performance.now() - call.started) * 1000);
  }
}
